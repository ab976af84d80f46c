import type { EngineEvent } from "@pulumi/pulumi/automation";
import { io } from "./io";

/**
 * One line on stderr while the engine works: the resource being changed and the seconds so far.
 * On a terminal the line is rewritten in place every second; elsewhere (CI logs) one line is
 * written per resource step, so that a log shows what happened when.
 */
export class Progress {
    private readonly started = Date.now();
    private current = "starting the engine";
    private done = 0;
    private timer: NodeJS.Timeout | undefined;
    /** The engine's error diagnostics (the program's own refusals among them), kept for the failure message. */
    readonly errors: string[] = [];

    constructor(private readonly label: string) {
        if (io.stderrIsTTY) {
            this.timer = setInterval(() => this.draw(), 1000);
            this.draw();
        } else {
            io.err(`[delivery] ${label}: started\n`);
        }
    }

    private seconds(): number {
        return Math.round((Date.now() - this.started) / 1000);
    }

    private draw(): void {
        io.err(`\r\x1b[2K[delivery] ${this.label}: ${this.current} (${this.done} done, ${this.seconds()}s)`);
    }

    readonly onEvent = (event: EngineEvent): void => {
        const pre = event.resourcePreEvent;
        // Providers and the stack itself are the engine's bookkeeping, not what a person waits for.
        if (pre && pre.metadata.op !== "same" && !/^pulumi:(providers:|pulumi:Stack$)/.test(pre.metadata.type)) {
            this.current = `${pre.metadata.op} ${resourceName(pre.metadata.urn)}`;
            if (io.stderrIsTTY) {
                this.draw();
            } else {
                io.err(`[delivery] ${this.label}: ${this.seconds()}s ${this.current}\n`);
            }
        }
        if (event.resOutputsEvent) {
            this.done++;
        }
        const diag = event.diagnosticEvent;
        if (diag && diag.severity === "error" && diag.message.trim() !== "") {
            this.errors.push(diag.message.trim());
        }
    };

    /** Ends the line with how it went. */
    stop(outcome: string): void {
        if (this.timer) {
            clearInterval(this.timer);
        }
        io.err(`${io.stderrIsTTY ? "\r\x1b[2K" : ""}[delivery] ${this.label}: ${outcome} after ${this.seconds()}s\n`);
    }
}

/** `urn:pulumi:dev::delivery::a$b::name` → `name`. */
export function resourceName(urn: string): string {
    return urn.split("::").pop() ?? urn;
}
