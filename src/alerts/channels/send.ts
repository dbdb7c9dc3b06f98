import type { Config } from '../../config/types.js';
import { ConfigError } from '../../core/errors.js';
import { DeliveryError } from '../errors.js';
import type { Message, Reply, SmtpSettings } from '../types.js';
import { channelProblems } from '../validate.js';
import { createMailer, type Mailer } from './email.js';
import { sendPagerDuty } from './pagerduty.js';
import { sendSlack } from './slack.js';
import { sendWebhook } from './webhook.js';

export interface SenderOptions {
  config: () => Config;
  smtp: SmtpSettings | null;
  pagerDutyEventsUrl: string;
  /** Wall clock for webhook signature timestamps (receivers compare them with theirs). */
  wallClock?: () => number;
  timeoutMs?: number;
}

export interface Sender {
  /** Sends to the channel of that name in the current config; DeliveryError when it did not take it. */
  send(channelName: string, m: Message): Promise<Reply>;
  close(): void;
}

/** Did-you-mean for a channel name (`krt alerts test platform-lead`). */
export function unknownChannel(name: string, config: Config): ConfigError {
  const names = Object.keys(config.alerts.channels);
  const near = names.find((n) => n.toLowerCase().includes(name.toLowerCase()) || name.toLowerCase().includes(n.toLowerCase()));
  const hint = near ? `did you mean ${near}? ` : '';
  return new ConfigError(`channel ${JSON.stringify(name)} is not in alerts.channels; ${hint}${names.length ? `the channels are ${names.join(', ')}` : 'no channel is defined: add one under alerts.channels'}`);
}

export function createSender({ config, smtp, pagerDutyEventsUrl, wallClock = Date.now, timeoutMs }: SenderOptions): Sender {
  let mailer: Mailer | null = null;
  return {
    async send(name, m) {
      const channel = config().alerts.channels[name];
      if (!channel) throw new DeliveryError(unknownChannel(name, config()).message, name, false);
      const problems = channelProblems(name, channel, smtp);
      if (problems.length) throw new DeliveryError(problems.join('; '), name, false);
      switch (channel.type) {
        case 'slack':
          return sendSlack(m, channel, name, timeoutMs);
        case 'email':
          mailer ??= createMailer(smtp!, timeoutMs);
          return mailer.send(m, channel, name);
        case 'pagerduty':
          return sendPagerDuty(m, channel, name, pagerDutyEventsUrl, timeoutMs);
        case 'webhook':
          return sendWebhook(m, channel, name, wallClock, timeoutMs);
      }
    },
    close() {
      mailer?.close();
    },
  };
}
