#pragma once

#include "hsm/helper_context.h"
#include "hsm/hsm.h"
#include "hsm/pin_source.h"
#include "hsm/session_pool.h"

#include <map>
#include <mutex>

namespace keyline::hsm {

// [hsm] in keyline.conf.
struct HsmConfig {
    QString modulePath = QStringLiteral("/usr/lib/softhsm/libsofthsm2.so");
    QString tokenLabel = QStringLiteral("keyline-dev");
    PinSource pin;
    // SoftHSM2 only: its configuration file. Set as SOFTHSM2_CONF before the module initialises
    // (SoftHSM2 reads it in C_Initialize). Empty: leave the environment alone.
    QString softhsmConfig;
    int maxSessions = 8;
};

// The HSM over PKCS#11: pkcs11-helper loads the provider, finds the token by label and does
// certificate-bound signing; the module's own function list does everything else through a
// session pool. One instance per process and module (PKCS#11 state is per process).
class Pkcs11Hsm final : public Hsm {
public:
    // Every failure to reach a usable, logged-in token is EnvironmentNotReady naming the fix.
    static Result<std::unique_ptr<Pkcs11Hsm>> open(const HsmConfig& config);
    ~Pkcs11Hsm() override;

    Result<std::vector<KeyInfo>> listKeys() override;
    Result<std::shared_ptr<Signer>> signer(const KeyUri& key) override;
    Result<QByteArray> certificate(const KeyUri& key) override;
    Result<QByteArray> publicKey(const KeyUri& key) override;
    Result<QByteArray> keyCheckValue(const KeyUri& key) override;
    Result<ImageKeyBurn> wrapImageKeyForDevice(const KeyUri& imageKey,
                                               const QByteArray& devicePublicKey) override;
    Result<std::unique_ptr<GcmEncryption>> beginGcmEncrypt(const KeyUri& key,
                                                           const QByteArray& aad) override;
    Result<std::unique_ptr<GcmDecryption>> beginGcmDecrypt(const KeyUri& key, const QByteArray& iv,
                                                           const QByteArray& aad,
                                                           const QByteArray& tag) override;

    // Signing through pkcs11-helper (key found via its certificate's CKA_ID), for keys that
    // have a certificate: the issuing CA and the audit key. Serialised per token by the helper.
    Result<std::shared_ptr<Signer>> certificateBoundSigner(const KeyUri& key);

    // The underlying pool: for the dev-token set-up, the ceremony, tests and the benchmark.
    SessionPool& pool() { return *m_pool; }
    const QString& tokenLabel() const { return m_token; }
    // A URI for `label` on this token, with the given object type.
    KeyUri uriFor(const QString& label, const QString& type = QStringLiteral("private")) const;

private:
    Pkcs11Hsm() = default;
    Result<void> checkToken(const KeyUri& key) const;
    // Finds `key` of class `cls`; EnvironmentNotReady with what to do when it is missing.
    Result<CK_OBJECT_HANDLE> find(SessionLease& s, const KeyUri& key, CK_OBJECT_CLASS cls);
    // Finds an AES-256 key that may encrypt and decrypt (AES-GCM), or says what is wrong.
    Result<CK_OBJECT_HANDLE> findGcmKey(SessionLease& s, const KeyUri& key);

    // An image key's handle and check value, found once: both stay fixed while the object
    // lives, and finding them for every device made SoftHSM2 re-read its token files each time.
    struct FoundImageKey {
        CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
        QByteArray kcv;
    };
    Result<FoundImageKey> imageKey(SessionLease& s, const KeyUri& key);
    void forgetImageKey(const KeyUri& key);

    // Destroyed in reverse: sessions, then pkcs11-helper's provider, then our module handle,
    // which initialised the module and so finalises it.
    std::shared_ptr<Module> m_module;
    std::shared_ptr<HelperContext> m_helper;
    std::unique_ptr<SessionPool> m_pool;
    QString m_token;
    std::mutex m_imageKeysMutex;
    std::map<QString, FoundImageKey> m_imageKeys; // by KeyUri::toString()
};

} // namespace keyline::hsm
