// Key Vault of one region stamp and the key-encryption key (KEK) that wraps
// the per-connector data keys (envelope encryption, see shared/DESIGN.md §3).
// RBAC authorisation only, soft delete and purge protection on: a deleted
// KEK would make every wrapped data key unreadable.

@description('Key Vault name: 3-24 letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the vault.')
param location string

@description('Tags applied to the vault.')
param tags object

@description('Name of the key-encryption key (the app reads it from FERRY_KEYVAULT_KEY_NAME).')
param keyName string = 'ferry-kek'

@description('RSA modulus of the KEK in bits.')
@allowed([
  3072
  4096
])
param keySize int = 3072

@description('Days a deleted vault or key stays recoverable (7-90).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('ISO 8601 duration after creation at which Key Vault creates a new KEK version.')
param keyRotateAfter string = 'P1Y'

@description('ISO 8601 lifetime of each KEK version. Expired versions still unwrap (Key Vault allows decrypt/unwrap/verify outside nbf/exp), they only stop wrapping new data keys.')
param keyExpiresAfter string = 'P2Y'

@description('Log Analytics workspace that receives the vault audit log.')
param workspaceId string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    // Premium: the KEK lives in an HSM (RSA-HSM).
    sku: {
      family: 'A'
      name: 'premium'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    // checkov:skip=CKV_AZURE_189:The Function App (Flex Consumption, no VNet integration) has no fixed outbound addresses; every call needs an Entra ID token and the Key Vault Crypto User role on the key. Private endpoint is a documented follow-up (infra/README.md).
    publicNetworkAccess: 'Enabled'
    // checkov:skip=CKV_AZURE_109:Default action Allow for the same reason as CKV_AZURE_189 (no fixed outbound addresses without VNet integration). Follow-up in infra/README.md.
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// ARM's "Keys - Create If Not Exist" creates only the first version and leaves an
// existing key untouched, so re-running the template cannot orphan wrapped data
// keys (nor change the rotation policy of an existing key: use the data plane).
resource kek 'Microsoft.KeyVault/vaults/keys@2024-11-01' = {
  parent: vault
  name: keyName
  properties: {
    kty: 'RSA-HSM'
    keySize: keySize
    // Wrap/unwrap only: the KEK never encrypts data directly.
    keyOps: [
      'wrapKey'
      'unwrapKey'
    ]
    attributes: {
      enabled: true
      exportable: false
    }
    rotationPolicy: {
      attributes: {
        expiryTime: keyExpiresAfter
      }
      lifetimeActions: [
        {
          trigger: {
            timeAfterCreate: keyRotateAfter
          }
          action: {
            type: 'rotate'
          }
        }
        {
          trigger: {
            timeBeforeExpiry: 'P30D'
          }
          action: {
            type: 'notify'
          }
        }
      ]
    }
  }
}

resource auditLog 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
output keyName string = kek.name
