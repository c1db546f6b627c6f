// Builds the destination a Sink's settings describe.
import type { DestinationSettings } from '../config.ts';
import type { Destination } from '../destination.ts';
import { FileDestination } from './file.ts';
import { S3Destination } from './s3.ts';
import { WebhookDestination } from './webhook.ts';

export function createDestination(s: DestinationSettings): Destination {
  switch (s.type) {
    case 'file':
      return new FileDestination(s);
    case 'webhook':
      return new WebhookDestination(s);
    case 's3':
      return new S3Destination(s);
  }
}
