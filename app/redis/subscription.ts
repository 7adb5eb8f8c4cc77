import type { Redis } from 'ioredis';

export interface Subscription {
  close(): void;
}

/**
 * A subscriber connection beside `redis` (one in subscriber mode can do nothing else). It subscribes again each time it
 * connects, then calls `onSubscribed` to catch up on what was published while it was away; it ends when `redis` ends.
 */
export function subscribe(redis: Redis, channel: string, onMessage: (message: string) => void, onSubscribed: () => Promise<void> = async () => {}): Subscription {
  const subscriber = redis.duplicate({ autoResubscribe: false });
  // The command connection reports outages; this one only follows it.
  subscriber.on('error', () => {});
  subscriber.on('message', (_channel: string, message: string) => onMessage(message));
  subscriber.on('ready', () => void subscriber.subscribe(channel).then(onSubscribed).catch(() => {}));
  const close = () => subscriber.disconnect();
  redis.once('end', close);
  return {
    close() {
      redis.off('end', close);
      close();
    },
  };
}
