#pragma once

#include "common/result.h"
#include "flashing/commands.h"
#include "sim/atomic_file.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>
#include <cstdint>

// What a virtual wearable keeps across power cycles, and where: one directory per device.
//   device.json           identity, OTP, keystore, keys, certificates, lifecycle, fired faults
//   flash.json            the flash transfer and the installed image (small, rewritten often)
//   flash-receiving.img   bytes of the transfer under way (written in place, chunk by chunk)
//   flash-installed.img   the image that boots
// Each JSON file is replaced atomically (write-temp, fsync, rename), so a killed simulator
// leaves either the old or the new state.
namespace keyline::sim {

struct DeviceState {
    QByteArray chipUid;
    QByteArray chipKeyPem;      // chip identity private key: never leaves the device
    QByteArray chipCertificate; // DER, issued by the (simulated) silicon vendor
    bool counterfeit = false;   // manufactured under the counterfeit fault
    bool locked = false;
    QByteArray otpKey; // the burned image key; empty while OTP is blank
    // The wrapped key of every otp-burn request that reached the unwrap, burned or refused. Not
    // something a real chip keeps: tests count burn attempts (a station must never send one to
    // a burned OTP) and search the station's records for these exact bytes.
    QList<QByteArray> otpBurnRequests;
    QByteArray keystore;
    QByteArray deviceKeyPem; // empty until device-key-generate
    QList<QByteArray> certificateChain;
    QStringList firedFaults; // once-only faults that already fired on this device
    // Anti-rollback: the highest counters of a package this device installed or booted.
    quint64 osCounter = 0;
    quint64 appCounter = 0;
};

struct FlashRecord {
    // The transfer: Idle (none), Receiving, Received or Interrupted.
    protocol::FlashState transfer = protocol::FlashState::Idle;
    std::uint64_t totalSize = 0;
    std::uint64_t durableOffset = 0; // bytes of flash-receiving.img known to be on disk
    QByteArray sha256;
    // The installed image; installedSha256 empty if none.
    std::uint64_t installedSize = 0;
    QByteArray installedSha256;
};

class DeviceStore {
public:
    // `stateDurability`: Host (default) also fsyncs device.json with its directory, so device
    // state survives the host losing power; Process only survives the simulator being killed
    // (benchmarks, where the devices must take no time of their own).
    explicit DeviceStore(QString directory, Durability stateDurability = Durability::Host)
        : m_directory(std::move(directory))
        , m_durability(stateDurability) {}

    const QString& directory() const { return m_directory; }
    QString receivingImagePath() const;
    QString installedImagePath() const;

    Result<DeviceState> loadState() const;
    Result<void> saveState(const DeviceState& state) const;
    Result<FlashRecord> loadFlash() const; // a missing file is an empty record
    Result<void> saveFlash(const FlashRecord& record) const;

private:
    QString m_directory;
    Durability m_durability;
};

} // namespace keyline::sim
