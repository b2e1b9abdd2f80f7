// The web console on Azure Static Web Apps: the same static build the Function
// App serves under /console (console/dist), uploaded to a Static Web App that
// calls this stamp's API across origins (the app's CORS lists the origins
// output here; main.bicep wires it).
//
// The site holds static files only, no customer data. Its headers (the strict
// Content-Security-Policy naming the API and issuer origins, the year-long
// cache of the hashed assets, the index.html fallback) are in the
// staticwebapp.config.json that
// `python -m functions.http_api.console static-site` writes from this
// deployment's outputs, from the same policy the app serves: see infra/README.md.

@description('Static Web App name.')
param name string

@description('Azure region of the Static Web App resource (the service exists in a few regions only; the files themselves are served from its global edge).')
@allowed([
  'westeurope'
  'eastus2'
  'centralus'
  'westus2'
  'eastasia'
])
param location string

@description('Tags applied to the Static Web App.')
param tags object

// Not `skuName`: checkov resolves a parameter by its name across modules, and the storage
// module's `skuName` then took this value (CKV_AZURE_206 failed on the storage account).
@description('Plan: Free (no SLA) or Standard (SLA, larger limits).')
@allowed([
  'Free'
  'Standard'
])
param plan string = 'Standard'

@description('Custom domain (a CNAME to the default host name, validated by that CNAME), or empty for none.')
param customDomain string = ''

resource site 'Microsoft.Web/staticSites@2024-11-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: plan
    tier: plan
  }
  properties: {
    // No linked repository: the build is uploaded with the site's deployment token
    // (infra/README.md), so no pull-request preview environments exist or may appear.
    provider: 'None'
    stagingEnvironmentPolicy: 'Disabled'
    allowConfigFileUpdates: true
    // The console is public by design: every API call it makes carries an OIDC bearer token.
    publicNetworkAccess: 'Enabled'
  }
}

resource domain 'Microsoft.Web/staticSites/customDomains@2024-11-01' = if (!empty(customDomain)) {
  parent: site
  // ARM validates the name of a resource whose condition is false too, and an empty
  // segment fails it: the placeholder is never deployed.
  name: empty(customDomain) ? 'unused.invalid' : customDomain
  properties: {
    validationMethod: 'cname-delegation'
  }
}

var defaultOrigin = 'https://${site.properties.defaultHostname}'

output name string = site.name
output defaultHostName string = site.properties.defaultHostname
// Browser origins the console is served from: the API's CORS must admit each.
output origins array = empty(customDomain) ? [
  defaultOrigin
] : [
  defaultOrigin
  'https://${customDomain}'
]
// Where people open the console.
output url string = empty(customDomain) ? '${defaultOrigin}/console/' : 'https://${customDomain}/console/'
