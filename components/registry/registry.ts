import * as pulumi from "@pulumi/pulumi";
import { ArgName, ArgProblem, argPath, CheckedComponent } from "../argProblems";

export interface RegistryCredentials {
    readonly username: string;
    readonly password: string;
}

export interface RegistryArgs {
    /** Registry host and optional port, without a path. @example "registry.gitlab.com" @example "127.0.0.1:5000" */
    readonly server: string;
    /** Repository path inside the registry; leading and trailing `/` are dropped. @example "group/project/app" */
    readonly repository: string;
    /** Credentials that can push (CI job token, or a user). @default undefined (an open local registry) */
    readonly pushCredentials?: pulumi.Input<RegistryCredentials>;
    /**
     * Credentials the runtime pulls with. Pass a GitLab deploy token here: a CI job token
     * expires with its job, and pods must be able to re-pull later.
     * @default the push credentials
     */
    readonly pullCredentials?: pulumi.Input<RegistryCredentials>;
    /** Plain HTTP instead of HTTPS (only for a registry on the loopback interface). @default false */
    readonly insecure?: boolean;
}

/** A registry `host[:port]`: letters, digits, `.` and `-`, an optional port, no path. */
export const REGISTRY_SERVER_PATTERN = /^[a-zA-Z0-9.-]+(:[0-9]{1,5})?$/;

/** What no registry address can be: a server with a path (it belongs in repository), or none. */
export function registryProblems(args: Partial<Pick<RegistryArgs, "server">>, name: ArgName = argPath): ArgProblem[] {
    const server = args.server;
    return server === undefined || REGISTRY_SERVER_PATTERN.test(server)
        ? []
        : [{ arg: "server", message: `${name("server")} "${server}" must be a host[:port] without a path; put the path in repository` }];
}

/**
 * The container registry a stack pushes to and its targets pull from. It creates no cloud
 * resource: the registry is GitLab's (or the local one); this component is the single place
 * that turns settings into the address, the repository URL and secret credentials.
 */
export class Registry extends CheckedComponent {
    readonly server: string;
    readonly repository: string;
    /** `server/repository`, the name every tag and digest ref hangs off. */
    readonly repositoryUrl: string;
    readonly insecure: boolean;
    /** Secret. Undefined values mean anonymous access. */
    readonly pushCredentials: pulumi.Output<RegistryCredentials | undefined>;
    /** Secret. */
    readonly pullCredentials: pulumi.Output<RegistryCredentials | undefined>;
    /** Secret `.dockerconfigjson` body for a Kubernetes image pull secret. */
    readonly dockerConfigJson: pulumi.Output<string>;

    constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("delivery:registry:Registry", name, registryProblems(args), opts);
        this.server = args.server;
        this.repository = args.repository.replace(/^\/+|\/+$/g, "");
        this.repositoryUrl = `${this.server}/${this.repository}`;
        this.insecure = args.insecure ?? false;
        this.pushCredentials = pulumi.secret(pulumi.output(args.pushCredentials) as pulumi.Output<RegistryCredentials | undefined>);
        this.pullCredentials = pulumi.secret(pulumi.output(args.pullCredentials ?? args.pushCredentials) as pulumi.Output<RegistryCredentials | undefined>);
        this.dockerConfigJson = pulumi.secret(this.pullCredentials.apply((c) => dockerConfigJson(this.server, c)));
        this.registerOutputs({ server: this.server, repositoryUrl: this.repositoryUrl });
    }
}

/** The `~/.docker/config.json` shape that `kubernetes.io/dockerconfigjson` secrets hold. */
export function dockerConfigJson(server: string, creds: RegistryCredentials | undefined): string {
    if (!creds) {
        return JSON.stringify({ auths: {} });
    }
    const auth = Buffer.from(`${creds.username}:${creds.password}`).toString("base64");
    return JSON.stringify({ auths: { [server]: { username: creds.username, password: creds.password, auth } } });
}
