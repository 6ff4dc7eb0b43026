#pragma once

// An Hsm that forwards to the real one and records what the engine asked of it, so a test can
// prove that a refused device caused no key material to be produced.
#include "hsm/hsm.h"

namespace keyline::test {

class CountingHsm final : public hsm::Hsm {
public:
    explicit CountingHsm(hsm::Hsm& inner)
        : m_inner(inner) {}

    int wraps = 0;
    QList<QByteArray> wrappedKeys; // every wrapped key handed out, for the no-secret checks

    Result<std::vector<hsm::KeyInfo>> listKeys() override { return m_inner.listKeys(); }
    Result<std::shared_ptr<Signer>> signer(const hsm::KeyUri& key) override {
        return m_inner.signer(key);
    }
    Result<QByteArray> certificate(const hsm::KeyUri& key) override {
        return m_inner.certificate(key);
    }
    Result<QByteArray> publicKey(const hsm::KeyUri& key) override { return m_inner.publicKey(key); }
    Result<QByteArray> keyCheckValue(const hsm::KeyUri& key) override {
        return m_inner.keyCheckValue(key);
    }
    Result<hsm::ImageKeyBurn> wrapImageKeyForDevice(const hsm::KeyUri& imageKey,
                                                    const QByteArray& devicePublicKey) override {
        ++wraps;
        auto burn = m_inner.wrapImageKeyForDevice(imageKey, devicePublicKey);
        if (burn)
            wrappedKeys.append(burn->wrappedKey);
        return burn;
    }

private:
    hsm::Hsm& m_inner;
};

} // namespace keyline::test
