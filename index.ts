// The Pulumi entry point: the stack's outputs are what `deliver` returns.
// The program itself lives in program.ts so that unit tests can run it under mocks.
import { deliver } from "./program";

export = deliver;
