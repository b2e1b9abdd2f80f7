// User-assigned managed identity of one region stamp.
// User-assigned (not system-assigned) so that role assignments and the
// Flex Consumption deployment-storage authentication can be created before
// the Function App exists, and so the identity survives an app re-create.

@description('Name of the user-assigned identity.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
