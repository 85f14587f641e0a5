import type { LocalVerb } from '../core.js';
import { createNotifier } from '../notify.js';

/** `Engine.notify`: a desktop notification, unless `ui.notifications = false`. */
export const notify: LocalVerb<'notify'> = (c, title, body) =>
  createNotifier({ enabled: c.getConfig().ui.notifications, env: c.options.env }).notify(title, body);
