#pragma once

#include "flashing/commands.h"
#include "flashing/device_link.h"

namespace keyline::flashing {

// How long each kind of device operation may take before the station gives up on it.
struct DeviceTimeouts {
    Millis command{3000};
    Millis otpBurn{10000};
    Millis keyGeneration{20000};
    Millis flashChunk{10000};
    Millis flashCommit{120000};
    Millis bootReport{60000};
};

// The typed face of a device: one method per protocol command, values in and out, no bytes.
// Not thread-safe: one job owns one client.
class DeviceClient {
public:
    explicit DeviceClient(std::unique_ptr<Transport> transport, DeviceTimeouts timeouts = {});

    const PortInfo& port() const { return m_link.port(); }
    const DeviceTimeouts& timeouts() const { return m_timeouts; }
    DeviceLink& link() { return m_link; }

    Result<protocol::IdentifyInfo> identify();
    Result<protocol::ChallengeResponse> challenge(const QByteArray& nonce);
    Result<protocol::EphemeralKeyResponse> ephemeralKey();
    Result<protocol::OtpStatusResponse> burnOtpKey(const protocol::OtpBurnRequest& request);
    Result<protocol::OtpStatusResponse> otpStatus();
    Result<protocol::KeystoreStatusResponse> writeKeystore(const QByteArray& keystore);
    Result<protocol::KeystoreStatusResponse> keystoreStatus();
    Result<protocol::DeviceKeyResponse> generateDeviceKey(const QString& subject);
    Result<void> writeCertificateChain(const QList<QByteArray>& derChain);
    Result<QList<QByteArray>> readCertificateChain();
    Result<std::uint64_t> flashBegin(std::uint64_t totalSize, const QByteArray& sha256);
    Result<std::uint64_t> flashChunk(std::uint64_t offset, const QByteArray& data);
    Result<protocol::FlashStatusResponse> flashCommit();
    Result<protocol::FlashStatusResponse> flashStatus();
    Result<protocol::BootReportResponse> bootReport(const QByteArray& nonce);
    Result<void> factoryLock();
    Result<void> reset();

private:
    Result<QByteArray> call(protocol::Command command, const QByteArray& payload, Millis timeout);
    template <typename T>
    Result<T> callDecoded(protocol::Command command, const QByteArray& payload, Millis timeout);
    Result<void> callEmpty(protocol::Command command, const QByteArray& payload, Millis timeout);

    DeviceLink m_link;
    DeviceTimeouts m_timeouts;
};

} // namespace keyline::flashing
