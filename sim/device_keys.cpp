// The device's key handling: genuineness, OTP key agreement and burn, device key and its
// certificate chain.
#include "sim/device.h"
#include "sim/shared_key_file.h"

#include <algorithm>
#include <deque>
#include <mutex>
#include <openssl/crypto.h>

namespace keyline::sim {

using namespace keyline::protocol;

namespace {

Reply internalFailure(const Error& error) {
    return Reply::refuse(DeviceError::Internal, error.message());
}

// Issuer certificates that parsed, shared by every virtual device of the process. A line sends
// every device the same CA certificates after its own leaf, and OpenSSL 3.0 decodes each
// certificate's key through its decoder framework, the simulator's largest cost per certificate
// write; a real wearable spends its own CPU on it. The same bytes parse the same way.
class ParsedIssuers {
public:
    bool contains(const QByteArray& der) {
        std::lock_guard lock(m_mutex);
        return std::find(m_known.begin(), m_known.end(), der) != m_known.end();
    }
    void remember(const QByteArray& der) {
        std::lock_guard lock(m_mutex);
        if (std::find(m_known.begin(), m_known.end(), der) != m_known.end())
            return;
        if (m_known.size() == kEntries)
            m_known.pop_front();
        m_known.push_back(der);
    }

private:
    static constexpr std::size_t kEntries = 8; // a chain or two; tests use a few CAs
    std::mutex m_mutex;
    std::deque<QByteArray> m_known;
};

ParsedIssuers& parsedIssuers() {
    static ParsedIssuers issuers;
    return issuers;
}

} // namespace

Reply VirtualDevice::challenge(const QByteArray& payload) {
    auto request = ChallengeRequest::decode(payload);
    if (!request)
        return malformed(request.error());
    auto signature =
        ossl::signSha256(m_chipKey.get(), challengeMessage(m_state.chipUid, request->nonce));
    if (!signature)
        return internalFailure(signature.error());
    Reply reply = Reply::ok(ChallengeResponse{m_state.chipCertificate, *signature}.encode());
    reply.work = usecs(m_config.timing.signature);
    return reply;
}

Reply VirtualDevice::ephemeralKey(const QByteArray& payload) {
    if (!payload.isEmpty())
        return unexpectedPayload(Command::EphemeralKey, payload);
    auto key = ossl::generateP256();
    if (!key)
        return internalFailure(key.error());
    auto point = ossl::publicPoint(key->get());
    if (!point)
        return internalFailure(point.error());
    auto signature =
        ossl::signSha256(m_chipKey.get(), ephemeralKeyMessage(m_state.chipUid, *point));
    if (!signature)
        return internalFailure(signature.error());
    m_ephemeralKey = std::move(*key); // replaces any earlier one
    Reply reply = Reply::ok(EphemeralKeyResponse{*point, *signature}.encode());
    reply.work = usecs(m_config.timing.keyGeneration) + usecs(m_config.timing.signature);
    return reply;
}

Reply VirtualDevice::otpBurn(const QByteArray& payload) {
    auto request = OtpBurnRequest::decode(payload);
    if (!request)
        return malformed(request.error());
    if (!m_ephemeralKey)
        return Reply::refuse(DeviceError::NoEphemeralKey,
                             QStringLiteral("send ephemeral-key before otp-burn"));
    // One agreement per ephemeral key, whatever the outcome.
    ossl::Pkey ephemeral = std::move(m_ephemeralKey);
    auto stationKey = ossl::publicKeyFromPoint(request->stationPublicKey);
    if (!stationKey)
        return Reply::refuse(DeviceError::MalformedRequest,
                             QStringLiteral("otp-burn request: field 'station_public_key' %1")
                                 .arg(stationKey.error().message()));
    auto shared = ossl::ecdhSharedX(ephemeral.get(), stationKey->get());
    if (!shared)
        return internalFailure(shared.error());
    auto key = ossl::aes256UnwrapPad(*shared, request->wrappedKey);
    if (!key)
        return Reply::refuse(
            DeviceError::UnwrapFailed,
            QStringLiteral("the wrapped key does not unwrap under the agreed key"));
    if (key->size() != 32)
        return Reply::refuse(
            DeviceError::UnwrapFailed,
            QStringLiteral("the unwrapped key is %1 bytes, not an AES-256 key").arg(key->size()));
    Reply reply;
    DeviceState next = m_state;
    next.otpBurnRequests.append(request->wrappedKey);
    const bool burnNow = m_state.otpKey.isEmpty();
    if (burnNow) {
        next.otpKey = *key;
        reply.work = usecs(m_config.timing.otpBurn);
    }
    if (auto saved = saveState(next); !saved)
        return storageFailure(saved.error());
    if (!burnNow &&
        (m_state.otpKey.size() != key->size() ||
         CRYPTO_memcmp(m_state.otpKey.constData(), key->constData(), size_t(key->size())) != 0))
        return Reply::refuse(DeviceError::OtpAlreadyBurned,
                             QStringLiteral("OTP holds a different key and is never burned again"));
    Reply status = otpStatus({});
    status.work = reply.work;
    return status;
}

Reply VirtualDevice::otpStatus(const QByteArray& payload) {
    if (!payload.isEmpty())
        return unexpectedPayload(Command::OtpStatus, payload);
    OtpStatusResponse status;
    status.burned = !m_state.otpKey.isEmpty();
    if (status.burned) {
        auto kcv = ossl::aesKeyCheckValue(m_state.otpKey);
        if (!kcv)
            return internalFailure(kcv.error());
        status.keyCheckValue = *kcv;
    }
    return Reply::ok(status.encode());
}

Reply VirtualDevice::deviceKeyGenerate(const QByteArray& payload) {
    auto request = DeviceKeyRequest::decode(payload);
    if (!request)
        return malformed(request.error());
    if (request->subject.isEmpty())
        return Reply::refuse(DeviceError::MalformedRequest,
                             QStringLiteral("device-key-generate request: field 'subject' is "
                                            "empty"));
    Reply reply;
    bool generated = false;
    if (!m_deviceKey) {
        Result<QByteArray> pem = QByteArray();
        Result<ossl::Pkey> key = ossl::Pkey();
        if (m_config.faults.rngRepeat && m_config.sharedKey) {
            pem = m_config.sharedKey->privateKeyPem();
            if (pem)
                key = ossl::loadPrivateKeyPem(*pem);
        } else {
            // The new key is used as generated: reading back its own PEM would cost more than
            // generating it (OpenSSL 3's decoder framework).
            key = ossl::generateP256();
            if (key)
                pem = ossl::privateKeyPem(key->get());
        }
        if (!pem)
            return internalFailure(pem.error());
        if (!key)
            return internalFailure(key.error());
        // Durable before it is answered: a repeated request after a crash must reuse this key.
        DeviceState next = m_state;
        next.deviceKeyPem = *pem;
        if (auto saved = saveState(next); !saved)
            return storageFailure(saved.error());
        m_deviceKey = std::move(*key);
        generated = true;
        reply.work = usecs(m_config.timing.keyGeneration);
    }
    auto csr = ossl::makeCsrDer(m_deviceKey.get(), request->subject);
    if (!csr)
        return internalFailure(csr.error());
    reply.payload = DeviceKeyResponse{generated, *csr}.encode();
    reply.work += usecs(m_config.timing.signature);
    return reply;
}

Reply VirtualDevice::certificateWrite(const QByteArray& payload) {
    auto request = CertificateChain::decode(payload);
    if (!request)
        return malformed(request.error());
    if (request->certificates.isEmpty())
        return Reply::refuse(DeviceError::MalformedRequest,
                             QStringLiteral("certificate-write request: field 'count' must be at "
                                            "least 1 (the leaf)"));
    if (!m_deviceKey)
        return Reply::refuse(DeviceError::NoDeviceKey,
                             QStringLiteral("no device key to certify; run device-key-generate"));
    // The leaf is walked to its key, which must be this device's own; each issuer is parsed in
    // full, once per process (ParsedIssuers). OpenSSL 3.0 decodes a certificate's key through
    // its decoder framework, which cost the simulator more than any signature.
    auto fieldError = [](const Error& e) {
        return Reply::refuse(
            DeviceError::MalformedRequest,
            QStringLiteral("certificate-write request: field 'certificate' %1").arg(e.message()));
    };
    auto leafKey = ossl::certificateSpki(request->certificates.first());
    if (!leafKey)
        return fieldError(leafKey.error());
    for (qsizetype i = 1; i < request->certificates.size(); ++i) {
        const QByteArray& der = request->certificates[i];
        if (parsedIssuers().contains(der))
            continue;
        if (auto parsed = ossl::certificateFromDer(der); !parsed)
            return fieldError(parsed.error());
        parsedIssuers().remember(der);
    }
    auto ownKey = ossl::p256SpkiDer(m_deviceKey.get());
    if (!ownKey)
        return internalFailure(ownKey.error());
    if (*leafKey != *ownKey)
        return Reply::refuse(DeviceError::WrongState,
                             QStringLiteral("the leaf certificate does not certify this device's "
                                            "key"));
    DeviceState next = m_state;
    next.certificateChain = request->certificates;
    if (auto saved = saveState(next); !saved)
        return storageFailure(saved.error());
    return Reply::ok();
}

Reply VirtualDevice::certificateRead(const QByteArray& payload) {
    if (!payload.isEmpty())
        return unexpectedPayload(Command::CertificateRead, payload);
    return Reply::ok(CertificateChain{m_state.certificateChain}.encode());
}

} // namespace keyline::sim
