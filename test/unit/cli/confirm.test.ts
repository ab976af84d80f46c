import { afterEach, describe, expect, it } from "vitest";
import { confirm } from "../../../cli/confirm";
import { processIo, Refusal, setIo } from "../../../cli/io";
import { recordingIo } from "./fixture";

/** The rule for commands that change a stack: --yes, or a person's yes on a terminal; never a guess. */
describe("confirm", () => {
    afterEach(() => setIo(processIo()));
    const command = "delivery rollback v1 --stack staging";

    it("refuses without a terminal unless --yes, saying to pass --yes, and asks nothing", async () => {
        const io = recordingIo({ tty: false });
        setIo(io);
        const refused = await confirm("Roll back?", { command }).catch((e: Error) => e);
        expect(refused).toBeInstanceOf(Refusal);
        expect((refused as Error).message).toBe(
            "not asking without a terminal (stdin is not a TTY); nothing was changed. To go ahead without a prompt: delivery rollback v1 --stack staging --yes",
        );
        expect(io.asked).toEqual([]);
    });

    it("goes ahead with --yes, with or without a terminal, asking nothing", async () => {
        for (const tty of [false, true]) {
            const io = recordingIo({ tty });
            setIo(io);
            await expect(confirm("Roll back?", { yes: true, command })).resolves.toBeUndefined();
            expect(io.asked).toEqual([]);
        }
    });

    it("asks on a terminal: y or yes goes ahead, anything else cancels", async () => {
        for (const answer of ["y", "YES", " yes "]) {
            const io = recordingIo({ tty: true, answer });
            setIo(io);
            await expect(confirm("Roll back?", { command })).resolves.toBeUndefined();
            expect(io.asked).toEqual(["Roll back? [y/N] "]);
        }
        for (const answer of ["", "n", "maybe"]) {
            setIo(recordingIo({ tty: true, answer }));
            await expect(confirm("Roll back?", { command })).rejects.toThrow("cancelled; nothing was changed");
        }
    });
});
