#include "flashing/device_client.h"

namespace keyline::flashing {

using namespace keyline::protocol;

DeviceClient::DeviceClient(std::unique_ptr<Transport> transport, DeviceTimeouts timeouts)
    : m_link(std::move(transport))
    , m_timeouts(timeouts) {}

Result<QByteArray> DeviceClient::call(Command command, const QByteArray& payload, Millis timeout) {
    return m_link.exchange(command, payload, Deadline::in(timeout)).context(m_link.port().endpoint);
}

template <typename T>
Result<T> DeviceClient::callDecoded(Command command, const QByteArray& payload, Millis timeout) {
    KL_TRY_ASSIGN(QByteArray answer, call(command, payload, timeout));
    auto decoded = T::decode(answer);
    if (!decoded) {
        // A device that answers nonsense cannot be trusted with the next request either.
        m_link.close();
        return std::move(decoded).error().context(m_link.port().endpoint);
    }
    return decoded;
}

Result<void> DeviceClient::callEmpty(Command command, const QByteArray& payload, Millis timeout) {
    KL_TRY_ASSIGN(QByteArray answer, call(command, payload, timeout));
    if (!answer.isEmpty()) {
        m_link.close();
        return Error(ErrorCode::ProtocolViolation,
                     QStringLiteral("%1: %2 answer carries %3 unexpected bytes")
                         .arg(m_link.port().endpoint, commandName(command))
                         .arg(answer.size()));
    }
    return success();
}

Result<IdentifyInfo> DeviceClient::identify() {
    return callDecoded<IdentifyInfo>(Command::Identify, {}, m_timeouts.command);
}

Result<ChallengeResponse> DeviceClient::challenge(const QByteArray& nonce) {
    return callDecoded<ChallengeResponse>(Command::Challenge, ChallengeRequest{nonce}.encode(),
                                          m_timeouts.command);
}

Result<EphemeralKeyResponse> DeviceClient::ephemeralKey() {
    return callDecoded<EphemeralKeyResponse>(Command::EphemeralKey, {}, m_timeouts.keyGeneration);
}

Result<OtpStatusResponse> DeviceClient::burnOtpKey(const OtpBurnRequest& request) {
    return callDecoded<OtpStatusResponse>(Command::OtpBurn, request.encode(), m_timeouts.otpBurn);
}

Result<OtpStatusResponse> DeviceClient::otpStatus() {
    return callDecoded<OtpStatusResponse>(Command::OtpStatus, {}, m_timeouts.command);
}

Result<KeystoreStatusResponse> DeviceClient::writeKeystore(const QByteArray& keystore) {
    return callDecoded<KeystoreStatusResponse>(
        Command::KeystoreWrite, KeystoreWriteRequest{keystore}.encode(), m_timeouts.command);
}

Result<KeystoreStatusResponse> DeviceClient::keystoreStatus() {
    return callDecoded<KeystoreStatusResponse>(Command::KeystoreStatus, {}, m_timeouts.command);
}

Result<DeviceKeyResponse> DeviceClient::generateDeviceKey(const QString& subject) {
    return callDecoded<DeviceKeyResponse>(
        Command::DeviceKeyGenerate, DeviceKeyRequest{subject}.encode(), m_timeouts.keyGeneration);
}

Result<void> DeviceClient::writeCertificateChain(const QList<QByteArray>& derChain) {
    return callEmpty(Command::CertificateWrite, CertificateChain{derChain}.encode(),
                     m_timeouts.command);
}

Result<QList<QByteArray>> DeviceClient::readCertificateChain() {
    KL_TRY_ASSIGN(CertificateChain chain,
                  callDecoded<CertificateChain>(Command::CertificateRead, {}, m_timeouts.command));
    return chain.certificates;
}

Result<std::uint64_t> DeviceClient::flashBegin(std::uint64_t totalSize, const QByteArray& sha256) {
    KL_TRY_ASSIGN(FlashProgress p,
                  callDecoded<FlashProgress>(Command::FlashBegin,
                                             FlashBeginRequest{totalSize, sha256}.encode(),
                                             m_timeouts.command));
    return p.offset;
}

Result<std::uint64_t> DeviceClient::flashChunk(std::uint64_t offset, const QByteArray& data) {
    KL_TRY_ASSIGN(FlashProgress p,
                  callDecoded<FlashProgress>(Command::FlashChunk,
                                             FlashChunkRequest{offset, data}.encode(),
                                             m_timeouts.flashChunk));
    return p.offset;
}

Result<FlashStatusResponse> DeviceClient::flashCommit() {
    return callDecoded<FlashStatusResponse>(Command::FlashCommit, {}, m_timeouts.flashCommit);
}

Result<FlashStatusResponse> DeviceClient::flashStatus() {
    return callDecoded<FlashStatusResponse>(Command::FlashStatus, {}, m_timeouts.command);
}

Result<BootReportResponse> DeviceClient::bootReport(const QByteArray& nonce) {
    return callDecoded<BootReportResponse>(Command::BootReport, BootReportRequest{nonce}.encode(),
                                           m_timeouts.bootReport);
}

Result<void> DeviceClient::factoryLock() {
    return callEmpty(Command::FactoryLock, {}, m_timeouts.command);
}

Result<void> DeviceClient::reset() {
    return callEmpty(Command::Reset, {}, m_timeouts.command);
}

} // namespace keyline::flashing
