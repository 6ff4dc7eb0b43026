#include "metrics/metered_hsm.h"

namespace keyline::metrics {
namespace {

// From half a millisecond (a software token) to seconds (a network HSM under load).
const std::vector<double> kHsmBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};

template <typename Call>
auto timed(HsmLatency& latency, HsmOperation op, Call&& call) {
    const Clock::time_point start = Clock::now();
    auto result = call();
    latency.record(op, Clock::now() - start, result.ok());
    return result;
}

} // namespace

QString hsmOperationName(HsmOperation op) {
    static const std::array<QString, kHsmOperations> names{QStringLiteral("sign"),
                                                           QStringLiteral("wrap_image_key"),
                                                           QStringLiteral("key_check_value")};
    return names[std::size_t(op)];
}

HsmLatency::HsmLatency(Registry& registry, const Labels& base) {
    for (int i = 0; i < kHsmOperations; ++i) {
        Labels labels = base;
        labels.push_back({QStringLiteral("operation"), hsmOperationName(HsmOperation(i))});
        m_durations[i] = &registry.histogram(
            QStringLiteral("keyline_hsm_operation_duration_seconds"),
            QStringLiteral("Duration of the HSM operations the engine makes per device."), labels,
            kHsmBuckets);
        m_errors[i] =
            &registry.counter(QStringLiteral("keyline_hsm_operation_errors_total"),
                              QStringLiteral("HSM operations that returned an error."), labels);
    }
}

void HsmLatency::record(HsmOperation op, Clock::duration took, bool ok) noexcept {
    const auto i = std::size_t(op);
    m_durations[i]->observe(std::chrono::duration<double>(took).count());
    if (!ok)
        m_errors[i]->inc();
}

MeteredSigner::MeteredSigner(std::shared_ptr<Signer> inner, HsmLatency& latency)
    : m_inner(std::move(inner))
    , m_latency(latency) {}

Result<QByteArray> MeteredSigner::signDigest(const QByteArray& sha256Digest) const {
    return timed(m_latency, HsmOperation::Sign, [&] { return m_inner->signDigest(sha256Digest); });
}

QByteArray MeteredSigner::publicKeyDer() const {
    return m_inner->publicKeyDer();
}

MeteredHsm::MeteredHsm(hsm::Hsm& inner, HsmLatency& latency)
    : m_inner(inner)
    , m_latency(latency) {}

Result<std::vector<hsm::KeyInfo>> MeteredHsm::listKeys() {
    return m_inner.listKeys();
}

Result<std::shared_ptr<Signer>> MeteredHsm::signer(const hsm::KeyUri& key) {
    KL_TRY_ASSIGN(std::shared_ptr<Signer> inner, m_inner.signer(key));
    return std::shared_ptr<Signer>(std::make_shared<MeteredSigner>(std::move(inner), m_latency));
}

Result<QByteArray> MeteredHsm::certificate(const hsm::KeyUri& key) {
    return m_inner.certificate(key);
}

Result<QByteArray> MeteredHsm::publicKey(const hsm::KeyUri& key) {
    return m_inner.publicKey(key);
}

Result<QByteArray> MeteredHsm::keyCheckValue(const hsm::KeyUri& key) {
    return timed(m_latency, HsmOperation::KeyCheckValue,
                 [&] { return m_inner.keyCheckValue(key); });
}

Result<hsm::ImageKeyBurn> MeteredHsm::wrapImageKeyForDevice(const hsm::KeyUri& imageKey,
                                                            const QByteArray& devicePublicKey) {
    return timed(m_latency, HsmOperation::WrapImageKey,
                 [&] { return m_inner.wrapImageKeyForDevice(imageKey, devicePublicKey); });
}

Result<std::unique_ptr<hsm::GcmEncryption>> MeteredHsm::beginGcmEncrypt(const hsm::KeyUri& key,
                                                                        const QByteArray& aad) {
    return m_inner.beginGcmEncrypt(key, aad);
}

Result<std::unique_ptr<hsm::GcmDecryption>> MeteredHsm::beginGcmDecrypt(const hsm::KeyUri& key,
                                                                        const QByteArray& iv,
                                                                        const QByteArray& aad,
                                                                        const QByteArray& tag) {
    return m_inner.beginGcmDecrypt(key, iv, aad, tag);
}

} // namespace keyline::metrics
