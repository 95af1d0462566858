//go:build tools

// Package tools pins fake-gcs-server, the Google Cloud Storage emulator the state
// tests serve GCS from: scripts/object-stores.sh builds github.com/fsouza/fake-gcs-server
// at the version go.mod requires into .keel/bin (npm run stores:build). The blank
// import keeps `go mod tidy` from dropping the requirement; the build tag keeps this
// file out of every build.
package tools

import _ "github.com/fsouza/fake-gcs-server"
