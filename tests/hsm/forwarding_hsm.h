#pragma once

// An Hsm that forwards every call to a real one: the base of test decorators that watch or
// change one call at the boundary (tests/provisioning/counting_hsm.h counts wraps; the failure-
// mode tests answer one with a PKCS#11 error a real HSM would give).
#include "hsm/hsm.h"

namespace keyline::test {

class ForwardingHsm : public hsm::Hsm {
public:
    explicit ForwardingHsm(hsm::Hsm& inner)
        : m_inner(inner) {}

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
        return m_inner.wrapImageKeyForDevice(imageKey, devicePublicKey);
    }

protected:
    hsm::Hsm& m_inner;
};

} // namespace keyline::test
