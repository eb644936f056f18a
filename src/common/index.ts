// Public names of the shared checks: the error every component throws for bad arguments.
export { InvalidInputError } from "./errors";
