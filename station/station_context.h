#pragma once

#include "db/database.h"
#include "flashing/device_client.h"
#include "flashing/transport.h"
#include "hsm/pkcs11_hsm.h"
#include "provisioning/chip_authenticator.h"
#include "station/config.h"

#include <memory>
#include <vector>

namespace keyline::station {

// The composition root: turns the configuration into the real parts (port providers, trust
// anchors) and hands them to whoever runs a command. Nothing below it reads configuration.
class StationContext {
public:
    explicit StationContext(StationConfig config);

    const StationConfig& config() const { return m_config; }

    // Port providers for the configured transports, created on first use.
    const std::vector<std::unique_ptr<flashing::PortProvider>>& portProviders();
    // Every port with a device, across transports. Providers that are not ready (no socket
    // directory, no USB access) are reported in `problems`, not as a failure of the whole scan.
    QList<flashing::PortInfo> scanPorts(QStringList* problems = nullptr);
    Result<std::unique_ptr<flashing::Transport>> openPort(const flashing::PortInfo& port);
    flashing::DeviceTimeouts deviceTimeouts() const;

    Result<provisioning::ChipAuthenticator> chipAuthenticator() const;

    // [hsm] as the HSM library takes it. The PIN comes from [hsm] pin, then $KEYLINE_HSM_PIN,
    // then (development token only) kDevTokenDefaultPin, then a terminal prompt.
    hsm::HsmConfig hsmConfig() const;
    // Opens and logs in to the configured token. Every failure is EnvironmentNotReady naming the
    // fix (no module, no token, wrong PIN, no SoftHSM2 configuration); the PIN is tried once.
    // One open HSM per process at a time (PKCS#11 state is per process).
    Result<std::unique_ptr<hsm::Pkcs11Hsm>> openHsm() const;
    // The SoftHSM2 module with the development token label: where init-dev may run and the
    // development default PIN applies.
    bool usesDevToken() const;
    bool usesSoftHsm() const;
    // <data_dir>/export: public artefacts init-dev writes (CA certificates, public keys).
    QString exportDir() const;
    // <data_dir>/orders/<id>: the order's own copies of its package and keystore.
    QString orderDir(const QString& orderId) const;

    // [database] as the db library takes it: PostgreSQL when `url` is set, else the SQLite
    // file at `path`. BadInput for a URL the configuration did not check.
    Result<db::DatabaseOptions> databaseOptions() const;
    // Opens (creating and migrating) the station database on the calling thread.
    Result<std::unique_ptr<db::Database>> openDatabase() const;

private:
    StationConfig m_config;
    std::vector<std::unique_ptr<flashing::PortProvider>> m_providers;
    bool m_providersMade = false;
};

} // namespace keyline::station
