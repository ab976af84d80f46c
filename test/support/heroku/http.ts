/**
 * [errors] Platform API reference, "Error Responses": "Failing responses will have an appropriate
 * status and a JSON body containing more details about a particular error", `{"id": …, "message": …}`
 * (and sometimes `url`). The ids and messages the double uses are the reference's examples.
 */
export class HerokuHttpError extends Error {
    constructor(
        readonly status: number,
        readonly id: string,
        message: string,
    ) {
        super(message);
    }
}

/** [errors] 404 not_found; the message Heroku gives for an app it cannot find (or the key cannot see). */
export const appNotFound = () => new HerokuHttpError(404, "not_found", "Couldn't find that app.");

/** [errors] 422 invalid_params: "Request invalid, validate usage and try again". */
export const invalidParams = (message: string) => new HerokuHttpError(422, "invalid_params", message);
