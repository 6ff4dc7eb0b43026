#pragma once

// A virtual wearable in the field: it bootstraps itself against the back-end registry with its
// own device key and certificate chain (docs/backend-api.md, "Bootstrap") and receives its
// configuration. `keyline-wearable-sim bootstrap` runs it for the devices in a state directory.

#include "common/result.h"
#include "sim/device_store.h"

#include <QJsonObject>
#include <QStringList>

namespace keyline::sim {

// POST /v1/customers/{O}/devices/{CN}/bootstrap over mutual TLS with the device's key and its
// chain (leaf, issuing CA); `caPem` is what the registry's server certificate must chain to.
// The registry's answer ({device, configuration}) on 200; an error naming the status otherwise.
Result<QJsonObject> bootstrapDevice(const DeviceState& state, const QString& registryUrl,
                                    const QByteArray& caPem, int timeoutMs = 15000);

// `keyline-wearable-sim bootstrap --state-dir D --registry URL --ca PEM [--device ID]`: every
// device of D that holds a device certificate (or only ID, a device ID or chip UID), one JSON
// line each. Exit 0 all bootstrapped, 1 one failed, 2 bad usage, 3 registry unreachable.
int runBootstrapCommand(const QStringList& args);

} // namespace keyline::sim
