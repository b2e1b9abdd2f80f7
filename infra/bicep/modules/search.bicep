// Azure AI Search service of one region stamp (assistant retrieval index).
// Entra ID only: API keys are disabled, the stamp identity gets index data
// roles (modules/roles.bicep).

@description('Search service name: 2-60 lowercase letters, digits and hyphens, globally unique.')
@minLength(2)
@maxLength(60)
param name string

@description('Azure region of the service.')
param location string

@description('Tags applied to the service.')
param tags object

@description('Pricing tier; basic is the smallest with vector and semantic search and managed identity.')
@allowed([
  'basic'
  'standard'
  'standard2'
  'standard3'
])
param sku string = 'basic'

@description('Replicas; 2 gives a read SLA, 3 a read/write SLA.')
@minValue(1)
@maxValue(12)
param replicaCount int = 1

resource search 'Microsoft.Search/searchServices@2025-05-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    // checkov:skip=CKV_AZURE_209:One replica by default (no query SLA): the assistant index is derived data, rebuilt from Cosmos, and off the migration path. Set replicaCount to 2 for the query SLA.
    // checkov:skip=CKV_AZURE_208:Three replicas (index-update SLA) triple the cost of derived data; replicaCount is a parameter for stamps that need it.
    replicaCount: replicaCount
    partitionCount: 1
    hostingMode: 'default'
    disableLocalAuth: true
    // Public endpoint: no VNet integration on the Function App yet; data
    // access needs an Entra ID token (API keys disabled). See infra/README.md.
    publicNetworkAccess: 'enabled'
    semanticSearch: 'free'
  }
}

output id string = search.id
output name string = search.name
output endpoint string = 'https://${search.name}.search.windows.net'
