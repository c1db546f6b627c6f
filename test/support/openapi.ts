// Checks API answers against the schemas of the OpenAPI document the server publishes.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { OPENAPI } from '../../src/http/openapi.ts';

const ajv = new Ajv2020({ strict: false });
ajv.addSchema({ $id: 'openapi', components: OPENAPI.components });
const validators = new Map<string, ReturnType<typeof ajv.compile>>();

/** Throws naming the mismatch when `body` does not match the named component schema. */
export function conforms(schema: string, body: unknown): void {
  let v = validators.get(schema);
  if (!v) {
    v = ajv.compile({ $ref: `openapi#/components/schemas/${schema}` });
    validators.set(schema, v);
  }
  if (!v(body)) throw new Error(`response does not match ${schema}: ${ajv.errorsText(v.errors)}`);
}
