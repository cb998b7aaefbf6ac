import type { BundleOptions } from '../options.ts';

/**
 * resources/schemas.yml: the schema and the two volumes with their Unity Catalog grants. PHI stays
 * with the PHI group (the schema grants it SELECT; analysts get only USE_SCHEMA here and SELECT on
 * the de-identified views, granted by the governance task). Only the ingest principal writes the
 * landing volume, whose files hold raw SSNs.
 */
export function schemasYml(o: BundleOptions): object {
  return {
    resources: {
      schemas: {
        medallion: {
          catalog_name: '${var.catalog}',
          name: '${var.schema}',
          comment: 'carelake medallion lakehouse (PHI: HIPAA)',
          properties: { 'data.classification': 'PHI', 'compliance.framework': 'HIPAA' },
          grants: [
            { principal: o.engineerGroup, privileges: ['ALL_PRIVILEGES'] },
            { principal: o.phiGroup, privileges: ['USE_SCHEMA', 'SELECT'] },
            { principal: o.analystGroup, privileges: ['USE_SCHEMA'] },
          ],
        },
      },
      volumes: {
        landing: {
          catalog_name: '${var.catalog}',
          schema_name: '${resources.schemas.medallion.name}',
          name: o.landingVolume,
          volume_type: 'MANAGED',
          comment: 'Landing zone of the CSV extracts (raw PHI, SSNs included): write-only for the uploader',
          grants: [
            { principal: o.ingestPrincipal, privileges: ['READ_VOLUME', 'WRITE_VOLUME'] },
            { principal: o.engineerGroup, privileges: ['READ_VOLUME'] },
          ],
        },
        reference: {
          catalog_name: '${var.catalog}',
          schema_name: '${resources.schemas.medallion.name}',
          name: o.referenceVolume,
          volume_type: 'MANAGED',
          comment: 'Reference data (ICD-10-CM, US states and regions) shipped in data/reference',
          grants: [
            { principal: o.ingestPrincipal, privileges: ['READ_VOLUME', 'WRITE_VOLUME'] },
            { principal: o.engineerGroup, privileges: ['READ_VOLUME'] },
            { principal: o.analystGroup, privileges: ['READ_VOLUME'] },
          ],
        },
      },
    },
  };
}
