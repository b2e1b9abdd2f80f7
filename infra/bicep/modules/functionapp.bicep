// Function App of one region stamp on the Flex Consumption plan (Linux,
// Python 3.11), running as the stamp's user-assigned identity.
//
// Every app setting is identity-based: endpoints, names and client ids, no
// key, connection secret or SAS. tests/infra/test_app_settings.py proves that
// this block sets every name shared.config.AZURE_SETTINGS reads in Azure.

@description('Function App name (also its *.azurewebsites.net host name), globally unique.')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region of the plan and the app.')
param location string

@description('Tags applied to the plan and the app.')
param tags object

@description('Resource id of the stamp user-assigned identity.')
param identityId string

@description('Client id of that identity (AZURE_CLIENT_ID for DefaultAzureCredential).')
param identityClientId string

@description('Resource id of the assistant identity (reads the search index and calls OpenAI only).')
param assistantIdentityId string

@description('Client id of the assistant identity (FERRY_ASSISTANT_CLIENT_ID).')
param assistantIdentityClientId string

@description('This stamp region: eu or us.')
@allowed([
  'eu'
  'us'
])
param stampRegion string

@description('Host storage account (AzureWebJobsStorage, identity-based).')
param hostStorageAccountName string

@description('URL of the blob container the plan deploys the app package from.')
param deploymentContainerUrl string

@description('Application Insights connection string (an identifier, not a secret; local auth is off).')
param appInsightsConnectionString string

@description('EU stores: {cosmosEndpoint, cosmosDatabase, storageAccount, keyVaultUri, searchEndpoint, openAiEndpoint}.')
param euStores object

@description('US stores, same shape as euStores.')
param usStores object

@description('Name of the KEK in each region vault.')
param keyVaultKeyName string

@description('Accepted OIDC issuer URLs.')
param oidcIssuers array

@description('Audience (aud) the API accepts in bearer tokens.')
param oidcAudience string

@description('Azure OpenAI chat deployment name (same in both regions).')
param openAiChatDeployment string

@description('Azure OpenAI embedding deployment name (same in both regions).')
param openAiEmbeddingDeployment string

@description('Origins allowed to call the API from a browser; never "*".')
param corsAllowedOrigins array = []

@description('OIDC client id of the console served under /console (FERRY_CONSOLE_CLIENT_ID).')
param consoleClientId string = 'ferry-console'

@description('Scopes the console asks the issuer for (FERRY_CONSOLE_SCOPE).')
param consoleScope string = 'openid profile email'

@description('Upper bound of instances the plan scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Spread instances over availability zones (the platform then keeps at least two always-ready instances, billed; the region must support it).')
param zoneRedundant bool = false

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
    // checkov:skip=CKV_AZURE_225:Zone redundancy on Flex Consumption keeps two always-ready instances per function group (billed even when idle) and is not offered in every region; the zoneRedundant parameter turns it on per stamp.
    zoneRedundant: zoneRedundant
  }
}

resource app 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
      '${assistantIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // checkov:skip=CKV_AZURE_17:Browsers and API clients authenticate with OIDC bearer tokens or org API keys, not client certificates.
    clientCertEnabled: false
    // checkov:skip=CKV_AZURE_222:The HTTP API is the product's public entry point (web client); every route authenticates with OIDC bearer tokens or org API keys.
    publicNetworkAccess: 'Enabled'
    // checkov:skip=CKV_AZURE_212:numberOfWorkers does not exist on Flex Consumption; the platform scales instances per function group (maximumInstanceCount).
    // checkov:skip=CKV_AZURE_213:Flex Consumption does not support the App Service platform health check.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: false
      }
      // Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION
      // and WEBSITE_RUN_FROM_PACKAGE: runtime and package come from functionAppConfig.
      appSettings: [
        {
          name: 'FERRY_ENVIRONMENT'
          value: 'azure'
        }
        {
          // The HTTP trigger uses the streaming extension (live SSE log streams); the worker
          // enables it only with init indexing.
          name: 'PYTHON_ENABLE_INIT_INDEXING'
          value: '1'
        }
        {
          name: 'FERRY_STAMP_REGION'
          value: stampRegion
        }
        {
          name: 'FERRY_REGIONS'
          value: 'eu,us'
        }
        {
          name: 'FERRY_COSMOS_ENDPOINT_EU'
          value: euStores.cosmosEndpoint
        }
        {
          name: 'FERRY_COSMOS_ENDPOINT_US'
          value: usStores.cosmosEndpoint
        }
        {
          name: 'FERRY_COSMOS_DATABASE_EU'
          value: euStores.cosmosDatabase
        }
        {
          name: 'FERRY_COSMOS_DATABASE_US'
          value: usStores.cosmosDatabase
        }
        {
          name: 'FERRY_STORAGE_ACCOUNT_EU'
          value: euStores.storageAccount
        }
        {
          name: 'FERRY_STORAGE_ACCOUNT_US'
          value: usStores.storageAccount
        }
        {
          name: 'FERRY_KEYVAULT_URI_EU'
          value: euStores.keyVaultUri
        }
        {
          name: 'FERRY_KEYVAULT_URI_US'
          value: usStores.keyVaultUri
        }
        {
          name: 'FERRY_KEYVAULT_KEY_NAME'
          value: keyVaultKeyName
        }
        {
          name: 'FERRY_OIDC_ISSUERS'
          value: join(oidcIssuers, ',')
        }
        {
          name: 'FERRY_OIDC_AUDIENCE'
          value: oidcAudience
        }
        // What /console/config.json tells the console to sign in with.
        {
          name: 'FERRY_CONSOLE_CLIENT_ID'
          value: consoleClientId
        }
        {
          name: 'FERRY_CONSOLE_SCOPE'
          value: consoleScope
        }
        {
          name: 'FERRY_SEARCH_ENDPOINT_EU'
          value: euStores.searchEndpoint
        }
        {
          name: 'FERRY_SEARCH_ENDPOINT_US'
          value: usStores.searchEndpoint
        }
        {
          name: 'FERRY_OPENAI_ENDPOINT_EU'
          value: euStores.openAiEndpoint
        }
        {
          name: 'FERRY_OPENAI_ENDPOINT_US'
          value: usStores.openAiEndpoint
        }
        {
          name: 'FERRY_OPENAI_CHAT_DEPLOYMENT'
          value: openAiChatDeployment
        }
        {
          name: 'FERRY_OPENAI_EMBEDDING_DEPLOYMENT'
          value: openAiEmbeddingDeployment
        }
        // The assistant answers as its own identity (modules/assistant.bicep).
        {
          name: 'FERRY_ASSISTANT_CLIENT_ID'
          value: assistantIdentityClientId
        }
        // Identity-based host storage with a user-assigned identity:
        // https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
        {
          name: 'AzureWebJobsStorage__accountName'
          value: hostStorageAccountName
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        // DefaultAzureCredential picks the user-assigned identity from this.
        {
          name: 'AZURE_CLIENT_ID'
          value: identityClientId
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsightsConnectionString
        }
        // Entra-authenticated ingestion (Application Insights local auth is off).
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No publishing with basic (user/password) credentials, neither FTP nor SCM.
// Declared as top-level children (parent:) rather than nested resources so
// every static tool sees them.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = app.id
output name string = app.name
output defaultHostName string = app.properties.defaultHostName
