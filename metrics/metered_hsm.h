#pragma once

// HSM latency for the line metrics: a decorator around the station's Hsm and the signers it
// hands out, timing the calls the engine makes per device (certificate signing, image key
// wrapping, key check values). The hsm library stays unaware of metrics; the station puts the
// decorator between the engine and the real HSM when metrics are on (station/run_setup.cpp).

#include "common/deadline.h"
#include "hsm/hsm.h"
#include "metrics/registry.h"

#include <array>

namespace keyline::metrics {

enum class HsmOperation { Sign, WrapImageKey, KeyCheckValue };
inline constexpr int kHsmOperations = 3;
QString hsmOperationName(HsmOperation op); // the `operation` label: "sign", ...

// keyline_hsm_operation_duration_seconds and keyline_hsm_operation_errors_total.
class HsmLatency {
public:
    HsmLatency(Registry& registry, const Labels& base);
    void record(HsmOperation op, Clock::duration took, bool ok) noexcept;

private:
    std::array<Histogram*, kHsmOperations> m_durations{};
    std::array<Counter*, kHsmOperations> m_errors{};
};

class MeteredSigner final : public Signer {
public:
    MeteredSigner(std::shared_ptr<Signer> inner, HsmLatency& latency);
    Result<QByteArray> signDigest(const QByteArray& sha256Digest) const override;
    QByteArray publicKeyDer() const override;

private:
    std::shared_ptr<Signer> m_inner;
    HsmLatency& m_latency;
};

class MeteredHsm final : public hsm::Hsm {
public:
    // `inner` and `latency` must outlive it and every signer it hands out.
    MeteredHsm(hsm::Hsm& inner, HsmLatency& latency);

    Result<std::vector<hsm::KeyInfo>> listKeys() override;
    Result<std::shared_ptr<Signer>> signer(const hsm::KeyUri& key) override;
    Result<QByteArray> certificate(const hsm::KeyUri& key) override;
    Result<QByteArray> publicKey(const hsm::KeyUri& key) override;
    Result<QByteArray> keyCheckValue(const hsm::KeyUri& key) override;
    Result<hsm::ImageKeyBurn> wrapImageKeyForDevice(const hsm::KeyUri& imageKey,
                                                    const QByteArray& devicePublicKey) override;
    Result<std::unique_ptr<hsm::GcmEncryption>> beginGcmEncrypt(const hsm::KeyUri& key,
                                                                const QByteArray& aad) override;
    Result<std::unique_ptr<hsm::GcmDecryption>> beginGcmDecrypt(const hsm::KeyUri& key,
                                                                const QByteArray& iv,
                                                                const QByteArray& aad,
                                                                const QByteArray& tag) override;

private:
    hsm::Hsm& m_inner;
    HsmLatency& m_latency;
};

} // namespace keyline::metrics
