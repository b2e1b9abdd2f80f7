// Azure OpenAI account of one region stamp and its two model deployments
// (chat and embeddings) for the assistant. Entra ID only (local auth off);
// a custom subdomain is required for token authentication.

@description('Azure OpenAI account name (also its subdomain), globally unique.')
@minLength(2)
@maxLength(64)
param name string

@description('Azure region of the account; the model versions below must be offered there.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Deployment name of the chat model (the app reads FERRY_OPENAI_CHAT_DEPLOYMENT).')
param chatDeploymentName string

@description('Chat model name.')
param chatModelName string = 'gpt-4o-mini'

@description('Chat model version.')
param chatModelVersion string = '2024-07-18'

@description('Chat deployment capacity in thousands of tokens per minute.')
param chatCapacity int = 30

@description('Deployment name of the embedding model (the app reads FERRY_OPENAI_EMBEDDING_DEPLOYMENT).')
param embeddingDeploymentName string

@description('Embedding model name.')
param embeddingModelName string = 'text-embedding-3-small'

@description('Embedding model version.')
param embeddingModelVersion string = '1'

@description('Embedding deployment capacity in thousands of tokens per minute.')
param embeddingCapacity int = 30

@description('Deployment type. Standard processes prompts in the account region; DataZoneStandard stays in the EU or US data zone; GlobalStandard would leave the geography.')
@allowed([
  'Standard'
  'DataZoneStandard'
])
param deploymentSku string = 'Standard'

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: {
    name: 'S0'
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    // checkov:skip=CKV_AZURE_134:No VNet integration on the Function App yet, so the account keeps its public endpoint; calls need an Entra ID token (local auth off). Follow-up in infra/README.md.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
    }
    // The account itself calls nothing outside (no "on your data" sources).
    restrictOutboundNetworkAccess: true
    allowedFqdnList: []
  }
}

resource chat 'Microsoft.CognitiveServices/accounts/deployments@2025-06-01' = {
  parent: account
  name: chatDeploymentName
  sku: {
    name: deploymentSku
    capacity: chatCapacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: chatModelName
      version: chatModelVersion
    }
    versionUpgradeOption: 'NoAutoUpgrade'
  }
}

// Deployments of one account are created one after the other (the service
// rejects concurrent deployment writes).
resource embedding 'Microsoft.CognitiveServices/accounts/deployments@2025-06-01' = {
  parent: account
  name: embeddingDeploymentName
  sku: {
    name: deploymentSku
    capacity: embeddingCapacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: embeddingModelName
      version: embeddingModelVersion
    }
    versionUpgradeOption: 'NoAutoUpgrade'
  }
  dependsOn: [
    chat
  ]
}

output id string = account.id
output name string = account.name
output endpoint string = account.properties.endpoint
output chatDeploymentName string = chat.name
output embeddingDeploymentName string = embedding.name
