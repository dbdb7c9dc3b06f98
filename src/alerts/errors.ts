/**
 * A channel did not take a message. `retryable` tells the delivery worker whether to try again
 * (network errors, timeouts, 429, 5xx, SMTP 4xx) or to give up (other 4xx, SMTP 5xx, a bad
 * channel config); `status` and `body` are what the receiver answered, when it answered.
 * The message never contains a secret (webhook URLs and keys are not part of it).
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    message: string,
    readonly channel: string,
    readonly retryable: boolean,
    readonly status: number | string | null = null,
    readonly body: string = '',
  ) {
    super(message);
  }
}

/** HTTP answers worth another try: timeouts, rate limits and server errors. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
