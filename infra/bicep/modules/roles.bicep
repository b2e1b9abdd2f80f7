// Data-plane role assignments of one principal on one stamp's resources,
// least privilege: queue data, blob data, Cosmos data (one database), crypto
// use of the one KEK, search index data and OpenAI inference. Used twice by
// main.bicep: for this stamp's identity (isHost = true) and, once known, for
// the peer stamp's identity (isHost = false), which reaches this region's
// stores when it places or serves an org of this region.

@description('Object (principal) id of the managed identity that gets the roles.')
param principalId string

@description('True for the stamp that runs its Functions host on this storage account (needs Blob Data Owner, and Monitoring Metrics Publisher on Application Insights); false for the peer stamp (Blob Data Contributor).')
param isHost bool

@description('Storage account of this stamp.')
param storageAccountName string

@description('Cosmos DB account of this stamp.')
param cosmosAccountName string

@description('Cosmos DB database of this stamp (the data role is scoped to it).')
param cosmosDatabaseName string

@description('Key Vault of this stamp.')
param keyVaultName string

@description('Name of the KEK in that vault (the crypto role is scoped to this key only).')
param keyName string

@description('Azure AI Search service of this stamp.')
param searchServiceName string

@description('Azure OpenAI account of this stamp.')
param openAiAccountName string

@description('Application Insights component of this stamp (host only).')
param appInsightsName string

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424'
  searchIndexDataContributor: '8ebe5a00-799e-43f5-93ac-243d3dce84a7'
  searchServiceContributor: '7ca78c08-252a-4471-8644-bb5ff32d4ba0'
  cognitiveServicesOpenAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Cosmos DB Built-in Data Contributor (a Cosmos data-plane role, not ARM RBAC).
var cosmosDataContributor = '00000000-0000-0000-0000-000000000002'

// The Functions host keeps leases and secrets in blobs: Microsoft documents
// Blob Data Owner for an identity-based AzureWebJobsStorage. The peer only
// reads and writes run logs and exports.
var blobRole = isHost ? roles.storageBlobDataOwner : roles.storageBlobDataContributor

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2025-04-15' existing = {
  name: cosmosAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource kek 'Microsoft.KeyVault/vaults/keys@2024-11-01' existing = {
  parent: vault
  name: keyName
}

resource search 'Microsoft.Search/searchServices@2025-05-01' existing = {
  name: searchServiceName
}

resource openAi 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = {
  name: openAiAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource blobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, blobRole)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobRole)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource cosmosData 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2025-04-15' = {
  parent: cosmos
  name: guid(cosmos.id, principalId, cosmosDataContributor, cosmosDatabaseName)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    principalId: principalId
    scope: '${cosmos.id}/dbs/${cosmosDatabaseName}'
  }
}

resource kekCrypto 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(kek.id, principalId, roles.keyVaultCryptoUser)
  scope: kek
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource searchIndexData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(search.id, principalId, roles.searchIndexDataContributor)
  scope: search
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.searchIndexDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The assistant creates and updates its index definition (PUT /indexes),
// which the index *data* roles do not allow.
resource searchIndexes 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(search.id, principalId, roles.searchServiceContributor)
  scope: search
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.searchServiceContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource openAiUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(openAi.id, principalId, roles.cognitiveServicesOpenAiUser)
  scope: openAi
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.cognitiveServicesOpenAiUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Entra-authenticated telemetry ingestion (Application Insights local auth is off).
resource telemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isHost) {
  name: guid(appInsights.id, principalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
