// Cosmos DB (NoSQL) account of one region stamp: one database per region,
// every container partitioned by /pk (tenantId, or tenantId:migrationId for
// the high-volume containers). Entra ID only (local auth off) and continuous
// backup for point-in-time restore.

@description('Cosmos DB account name: 3-44 lowercase letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(44)
param name string

@description('Azure region of the account (single write region; the data stays in its geography).')
param location string

@description('Tags applied to the account.')
param tags object

@description('Name of the SQL database of this region.')
param databaseName string

@description('Autoscale maximum RU/s shared by all containers of the database (autoscale scales between 10% and this value).')
@minValue(1000)
param maxThroughput int = 1000

@description('Point-in-time restore window of continuous backup.')
@allowed([
  'Continuous7Days'
  'Continuous30Days'
])
param backupTier string = 'Continuous30Days'

// Containers the repositories use (shared/store/cosmos.py CONTAINERS; a test
// keeps the two lists equal). Partition key /pk everywhere; no unique keys, no
// TTL (the retention timer deletes, TTL is never relied on). The app only
// reads container metadata: with key-based metadata writes off and a data
// role, it cannot create a missing container, so this list must be complete.
var containerNames = [
  'tenants'
  'members'
  'userOrgs'
  'apiKeys'
  'keyIndex'
  'audit'
  'connectors'
  'dataKeys'
  'migrations'
  'runs'
  'idMap'
  'runItems'
  'deletions'
  'leases'
  'idempotency'
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2025-04-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    // Entra ID (RBAC) only; keys cannot read or write data.
    disableLocalAuth: true
    // Containers and throughput change only through ARM (this template).
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    // checkov:skip=CKV_AZURE_99:The Function App (Flex Consumption, no VNet integration) has no fixed outbound addresses, so no IP filter can list it; data access needs an Entra ID token (local auth off). Private endpoints are a documented follow-up (infra/README.md).
    // checkov:skip=CKV_AZURE_101:Public endpoint kept for the same reason as CKV_AZURE_99: no VNet integration yet; Entra-only data access. Follow-up in infra/README.md.
    publicNetworkAccess: 'Enabled'
    isVirtualNetworkFilterEnabled: false
    backupPolicy: {
      type: 'Continuous'
      continuousModeProperties: {
        tier: backupTier
      }
    }
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2025-04-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: {
      autoscaleSettings: {
        maxThroughput: maxThroughput
      }
    }
  }
}

resource containers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2025-04-15' = [
  for containerName in containerNames: {
    parent: database
    name: containerName
    properties: {
      resource: {
        id: containerName
        partitionKey: {
          paths: [
            '/pk'
          ]
          kind: 'Hash'
          version: 2
        }
      }
    }
  }
]

output id string = account.id
output name string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
