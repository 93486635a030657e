/**
 * The part of amqplib's promise API (0.10) the AMQP transport uses. amqplib ships no types and
 * @types/amqplib is not a dependency; this covers only what amqp.ts calls.
 */
declare module 'amqplib' {
  import type { EventEmitter } from 'node:events';

  export interface ConnectOptions {
    protocol?: 'amqp' | 'amqps';
    hostname: string;
    port: number;
    username: string;
    password: string;
    vhost: string;
    /** Seconds between heartbeats. */
    heartbeat?: number;
    frameMax?: number;
  }

  export interface MessageProperties {
    messageId?: string;
    contentType?: string;
    headers?: Record<string, unknown>;
    [k: string]: unknown;
  }

  export interface Message {
    content: Buffer;
    fields: Record<string, unknown>;
    properties: MessageProperties;
  }

  export interface PublishOptions {
    persistent?: boolean;
    mandatory?: boolean;
    contentType?: string;
    messageId?: string;
    /** Seconds since the epoch. */
    timestamp?: number;
    type?: string;
    appId?: string;
    headers?: Record<string, unknown>;
  }

  export interface Channel extends EventEmitter {
    close(): Promise<void>;
    assertQueue(queue: string, options?: Record<string, unknown>): Promise<{ queue: string; messageCount: number; consumerCount: number }>;
    assertExchange(exchange: string, type: string, options?: Record<string, unknown>): Promise<{ exchange: string }>;
    bindQueue(queue: string, exchange: string, pattern: string): Promise<unknown>;
    deleteQueue(queue: string): Promise<unknown>;
    deleteExchange(exchange: string): Promise<unknown>;
    get(queue: string, options?: { noAck?: boolean }): Promise<Message | false>;
    consume(queue: string, onMessage: (msg: Message | null) => void, options?: { noAck?: boolean }): Promise<{ consumerTag: string }>;
    ack(msg: Message): void;
  }

  export interface ConfirmChannel extends Channel {
    publish(exchange: string, routingKey: string, content: Buffer, options: PublishOptions, callback: (err: unknown) => void): boolean;
    waitForConfirms(): Promise<void>;
  }

  export interface ChannelModel extends EventEmitter {
    close(): Promise<void>;
    createChannel(): Promise<Channel>;
    createConfirmChannel(): Promise<ConfirmChannel>;
  }

  export function connect(url: string | ConnectOptions, socketOptions?: Record<string, unknown>): Promise<ChannelModel>;
  const amqp: { connect: typeof connect };
  export default amqp;
}
