// Ferry region stamp: everything one region (eu or us) runs, deployed into
// one resource group. Two stamps make the product; each knows the other's
// endpoints (peer* parameters) so an org is placed in, and served from, its
// own region's stores whichever stamp receives the request.
// Deploy: see infra/README.md.

targetScope = 'resourceGroup'

@description('Region this stamp runs (FERRY_STAMP_REGION).')
@allowed([
  'eu'
  'us'
])
param stampRegion string

@description('Azure region of every resource; must lie in the stamp geography (an EU region for eu, a US region for us).')
param location string = resourceGroup().location

@description('Lowercase letters and digits only; with the region it forms every resource name (e.g. "ferryprod" gives "ferryprodeust", "kv-ferryprodeu"). Names are global: pick a prefix nobody else uses.')
@minLength(3)
@maxLength(18)
param namePrefix string

@description('Tags applied to every resource.')
param tags object = {}

@description('Accepted OIDC issuer URLs (FERRY_OIDC_ISSUERS).')
@minLength(1)
param oidcIssuers array

@description('Audience the API accepts in bearer tokens (FERRY_OIDC_AUDIENCE).')
param oidcAudience string

@description('Browser origins allowed to call the API (CORS); never "*".')
param corsAllowedOrigins array = []

@description('Cosmos DB database of this region.')
param cosmosDatabaseName string = 'ferry-${stampRegion}'

@description('Autoscale maximum RU/s shared by the database containers.')
@minValue(1000)
param cosmosMaxThroughput int = 1000

@description('Point-in-time restore window of Cosmos DB continuous backup.')
@allowed([
  'Continuous7Days'
  'Continuous30Days'
])
param cosmosBackupTier string = 'Continuous30Days'

@description('Storage replication; region pairs keep the geo copy inside the EU/US geography.')
@allowed([
  'Standard_GRS'
  'Standard_RAGRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
])
param storageSku string = 'Standard_GZRS'

@description('Days a deleted blob or container stays recoverable.')
@minValue(1)
@maxValue(30)
param blobSoftDeleteDays int = 7

@description('Lifecycle backstop: run logs are deleted this many days after their last change (the retention timer normally deletes them first).')
param runLogsRetentionDays int = 90

@description('Days Log Analytics keeps logs and telemetry (30-90).')
@minValue(30)
@maxValue(90)
param logRetentionDays int = 30

@description('Name of the key-encryption key in the vault (FERRY_KEYVAULT_KEY_NAME; same name in both regions).')
param keyVaultKeyName string = 'ferry-kek'

@description('RSA size of the KEK.')
@allowed([
  3072
  4096
])
param keyVaultKeySize int = 3072

@description('Azure AI Search tier.')
@allowed([
  'basic'
  'standard'
  'standard2'
  'standard3'
])
param searchSku string = 'basic'

@description('Azure AI Search replicas (2 for a query SLA, 3 for an index-update SLA).')
@minValue(1)
@maxValue(12)
param searchReplicaCount int = 1

@description('Azure OpenAI chat deployment name (FERRY_OPENAI_CHAT_DEPLOYMENT; same in both regions).')
param openAiChatDeploymentName string = 'chat'

@description('Chat model and version; must be offered in the stamp location.')
param openAiChatModel object = {
  name: 'gpt-4o-mini'
  version: '2024-07-18'
  capacity: 30
}

@description('Azure OpenAI embedding deployment name (FERRY_OPENAI_EMBEDDING_DEPLOYMENT; same in both regions).')
param openAiEmbeddingDeploymentName string = 'embedding'

@description('Embedding model and version; must be offered in the stamp location.')
param openAiEmbeddingModel object = {
  name: 'text-embedding-3-small'
  version: '1'
  capacity: 30
}

@description('OpenAI deployment type: Standard (in-region) or DataZoneStandard (inside the EU/US data zone).')
@allowed([
  'Standard'
  'DataZoneStandard'
])
param openAiDeploymentSku string = 'Standard'

@description('Maximum Function App instances.')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 100

@description('Memory per Function App instance (MB).')
@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 2048

@description('Zone-redundant Flex Consumption plan (billed always-ready instances; region must support it).')
param functionZoneRedundant bool = false

@description('Where the web console is served from: app (the Function App, under /console, on the API origin) or staticWebApp (also an Azure Static Web App calling this stamp API across origins; the app CORS admits it).')
@allowed([
  'app'
  'staticWebApp'
])
param consoleHosting string = 'app'

@description('Azure region of the console Static Web App resource (offered in a few regions only; it holds static files, no customer data, served from the global edge).')
@allowed([
  'westeurope'
  'eastus2'
  'centralus'
  'westus2'
  'eastasia'
])
param consoleLocation string = (stampRegion == 'eu') ? 'westeurope' : 'eastus2'

@description('Static Web App plan of the console.')
@allowed([
  'Free'
  'Standard'
])
param consoleSku string = 'Standard'

@description('Custom domain of the console Static Web App (a CNAME to its default host name), or empty.')
param consoleCustomDomain string = ''

@description('OIDC client id of the console, a public (SPA) client of the first issuer (FERRY_CONSOLE_CLIENT_ID).')
param consoleClientId string = 'ferry-console'

@description('Scopes the console asks for (FERRY_CONSOLE_SCOPE); with Entra ID add the API scope, e.g. "openid profile email offline_access api://ferry/user_impersonation".')
param consoleScope string = 'openid profile email'

@description('Peer stamp: storage account name (FERRY_STORAGE_ACCOUNT_<peer>).')
param peerStorageAccountName string

@description('Peer stamp: Cosmos DB endpoint, e.g. https://cosmos-ferryprodus.documents.azure.com:443/.')
param peerCosmosEndpoint string

@description('Peer stamp: Cosmos DB database name.')
param peerCosmosDatabaseName string

@description('Peer stamp: Key Vault URI, e.g. https://kv-ferryprodus.vault.azure.net/.')
param peerKeyVaultUri string

@description('Peer stamp: Azure AI Search endpoint, e.g. https://srch-ferryprodus.search.windows.net.')
param peerSearchEndpoint string

@description('Peer stamp: Azure OpenAI endpoint, e.g. https://oai-ferryprodus.openai.azure.com/.')
param peerOpenAiEndpoint string

@description('Principal id of the peer stamp identity (its principalId output). Empty on the first deployment of the first stamp; when set, the peer gets data roles on this stamp stores.')
param peerPrincipalId string = ''

var base = '${namePrefix}${stampRegion}'
var peerRegion = stampRegion == 'eu' ? 'us' : 'eu'
var allTags = union(tags, {
  app: 'ferry'
  'ferry-stamp': stampRegion
})
var deploymentContainerName = 'app-package'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-${base}'
    location: location
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-${base}'
    appInsightsName: 'appi-${base}'
    location: location
    tags: allTags
    retentionInDays: logRetentionDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: '${base}st'
    location: location
    tags: allTags
    skuName: storageSku
    softDeleteDays: blobSoftDeleteDays
    logsRetentionDays: runLogsRetentionDays
    deploymentContainerName: deploymentContainerName
    workspaceId: monitoring.outputs.workspaceId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    name: 'cosmos-${base}'
    location: location
    tags: allTags
    databaseName: cosmosDatabaseName
    maxThroughput: cosmosMaxThroughput
    backupTier: cosmosBackupTier
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: 'kv-${base}'
    location: location
    tags: allTags
    keyName: keyVaultKeyName
    keySize: keyVaultKeySize
    workspaceId: monitoring.outputs.workspaceId
  }
}

module search 'modules/search.bicep' = {
  name: 'search'
  params: {
    name: 'srch-${base}'
    location: location
    tags: allTags
    sku: searchSku
    replicaCount: searchReplicaCount
  }
}

module openAi 'modules/openai.bicep' = {
  name: 'openai'
  params: {
    name: 'oai-${base}'
    location: location
    tags: allTags
    chatDeploymentName: openAiChatDeploymentName
    chatModelName: openAiChatModel.name
    chatModelVersion: openAiChatModel.version
    chatCapacity: openAiChatModel.capacity
    embeddingDeploymentName: openAiEmbeddingDeploymentName
    embeddingModelName: openAiEmbeddingModel.name
    embeddingModelVersion: openAiEmbeddingModel.version
    embeddingCapacity: openAiEmbeddingModel.capacity
    deploymentSku: openAiDeploymentSku
  }
}

// The assistant's own identity: reads the index and calls the models, nothing else.
module assistant 'modules/assistant.bicep' = {
  name: 'assistant'
  params: {
    name: 'id-assistant-${base}'
    location: location
    tags: allTags
    searchServiceName: search.outputs.name
    openAiAccountName: openAi.outputs.name
  }
}

// This stamp's identity on this stamp's resources.
module hostRoles 'modules/roles.bicep' = {
  name: 'roles-host'
  params: {
    principalId: identity.outputs.principalId
    isHost: true
    storageAccountName: storage.outputs.name
    cosmosAccountName: cosmos.outputs.name
    cosmosDatabaseName: cosmos.outputs.databaseName
    keyVaultName: keyVault.outputs.name
    keyName: keyVault.outputs.keyName
    searchServiceName: search.outputs.name
    openAiAccountName: openAi.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// The peer stamp's identity on this stamp's resources (cross-region org
// placement and serving). Deployed once the peer exists: see infra/README.md.
module peerRoles 'modules/roles.bicep' = if (!empty(peerPrincipalId)) {
  name: 'roles-peer'
  params: {
    principalId: peerPrincipalId
    isHost: false
    storageAccountName: storage.outputs.name
    cosmosAccountName: cosmos.outputs.name
    cosmosDatabaseName: cosmos.outputs.databaseName
    keyVaultName: keyVault.outputs.name
    keyName: keyVault.outputs.keyName
    searchServiceName: search.outputs.name
    openAiAccountName: openAi.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// The console on a Static Web App (consoleHosting = 'staticWebApp'). Its origins
// join the API's CORS list; its headers and config.json come from this
// deployment's outputs (infra/README.md, "The console on Static Web Apps").
module consoleSite 'modules/console.bicep' = if (consoleHosting == 'staticWebApp') {
  name: 'console'
  params: {
    name: 'swa-${base}'
    location: consoleLocation
    tags: allTags
    plan: consoleSku
    customDomain: consoleCustomDomain
  }
}

var consoleOrigins = (consoleHosting == 'staticWebApp') ? consoleSite.outputs.origins : []

var ownStores = {
  cosmosEndpoint: cosmos.outputs.endpoint
  cosmosDatabase: cosmos.outputs.databaseName
  storageAccount: storage.outputs.name
  keyVaultUri: keyVault.outputs.uri
  searchEndpoint: search.outputs.endpoint
  openAiEndpoint: openAi.outputs.endpoint
}

var peerStores = {
  cosmosEndpoint: peerCosmosEndpoint
  cosmosDatabase: peerCosmosDatabaseName
  storageAccount: peerStorageAccountName
  keyVaultUri: peerKeyVaultUri
  searchEndpoint: peerSearchEndpoint
  openAiEndpoint: peerOpenAiEndpoint
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: 'func-${base}'
    planName: 'asp-${base}'
    location: location
    tags: allTags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    assistantIdentityId: assistant.outputs.id
    assistantIdentityClientId: assistant.outputs.clientId
    stampRegion: stampRegion
    hostStorageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    euStores: stampRegion == 'eu' ? ownStores : peerStores
    usStores: stampRegion == 'us' ? ownStores : peerStores
    keyVaultKeyName: keyVaultKeyName
    oidcIssuers: oidcIssuers
    oidcAudience: oidcAudience
    openAiChatDeployment: openAi.outputs.chatDeploymentName
    openAiEmbeddingDeployment: openAi.outputs.embeddingDeploymentName
    corsAllowedOrigins: union(corsAllowedOrigins, consoleOrigins)
    consoleClientId: consoleClientId
    consoleScope: consoleScope
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
    zoneRedundant: functionZoneRedundant
  }
  // The host must not start before its identity may read its own storage.
  dependsOn: [
    hostRoles
  ]
}

// What the peer stamp's parameter file needs (peer* parameters).
output stampRegion string = stampRegion
output peerRegion string = peerRegion
output principalId string = identity.outputs.principalId
output assistantPrincipalId string = assistant.outputs.principalId
output storageAccountName string = storage.outputs.name
output cosmosEndpoint string = cosmos.outputs.endpoint
output cosmosDatabaseName string = cosmos.outputs.databaseName
output keyVaultUri string = keyVault.outputs.uri
output searchEndpoint string = search.outputs.endpoint
output openAiEndpoint string = openAi.outputs.endpoint
output functionAppName string = functionApp.outputs.name
output functionAppUrl string = 'https://${functionApp.outputs.defaultHostName}'

// The console: where people open it, and what its Static Web App upload needs
// (`python -m functions.http_api.console static-site` reads these outputs).
output consoleHosting string = consoleHosting
output consoleUrl string = (consoleHosting == 'staticWebApp') ? consoleSite.outputs.url : 'https://${functionApp.outputs.defaultHostName}/console/'
output consoleStaticWebAppName string = (consoleHosting == 'staticWebApp') ? consoleSite.outputs.name : ''
output consoleConfig object = {
  issuer: oidcIssuers[0]
  clientId: consoleClientId
  scope: consoleScope
  audience: oidcAudience
  apiBase: 'https://${functionApp.outputs.defaultHostName}/api'
}
