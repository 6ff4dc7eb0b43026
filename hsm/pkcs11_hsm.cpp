#include "hsm/pkcs11_hsm.h"

#include "hsm/aes_gcm.h"
#include "hsm/ec_util.h"
#include "hsm/image_key_wrap.h"
#include "hsm/key_inventory.h"
#include "hsm/key_objects.h"
#include "hsm/pool_signer.h"
#include "hsm/softhsm_token_guard.h"

#include <QFile>
#include <algorithm>
#include <optional>

namespace keyline::hsm {

Result<std::unique_ptr<Pkcs11Hsm>> Pkcs11Hsm::open(const HsmConfig& config) {
    // A PIN a person types is asked for before the token lock is taken: no other station on
    // this token waits for a person.
    std::optional<QByteArray> typedPin;
    if (config.pin.asksPerson()) {
        KL_TRY_ASSIGN(typedPin, config.pin.resolve(config.tokenLabel));
    }
    // Held until the login is done: loading the module and logging in both touch token.object.
    std::optional<softhsm::TokenFileLock> tokenLock;
    if (!config.softhsmConfig.isEmpty()) {
        qputenv("SOFTHSM2_CONF", QFile::encodeName(config.softhsmConfig));
        KL_TRY_ASSIGN(tokenLock, softhsm::TokenFileLock::acquire(config.softhsmConfig,
                                                                 std::chrono::seconds(60)));
        // A process killed during an earlier login may have cut a token short (see the guard).
        KL_TRY(softhsm::restoreTokenObjects(config.softhsmConfig));
    }
    std::unique_ptr<Pkcs11Hsm> h(new Pkcs11Hsm);
    h->m_token = config.tokenLabel;
    // Our handle first: it initialises the module with CKF_OS_LOCKING_OK. pkcs11-helper passes
    // no arguments to C_Initialize, and SoftHSM2 then turns its locking off, which crashes
    // parallel signing; loaded second, the helper finds the module initialised and shares it.
    KL_TRY_ASSIGN(h->m_module, Module::load(config.modulePath));
    KL_TRY_ASSIGN(h->m_helper, HelperContext::open(config.modulePath, config.pin));
    KL_TRY_ASSIGN(const QStringList labels, h->m_helper->tokenLabels());
    if (!labels.contains(config.tokenLabel))
        return Error(
            ErrorCode::EnvironmentNotReady,
            QStringLiteral("no token labelled '%1' in PKCS#11 module '%2' (tokens present: "
                           "%3): connect the HSM, or for development run 'keyline hsm "
                           "init-dev', or set [hsm] token")
                .arg(config.tokenLabel, config.modulePath,
                     labels.isEmpty() ? QStringLiteral("none")
                                      : labels.join(QStringLiteral(", "))));
    KL_TRY_ASSIGN(const Module::TokenSlot slot, h->m_module->findToken(config.tokenLabel));
    QByteArray pin;
    if (typedPin) {
        pin = *typedPin;
        typedPin->fill('\0');
    } else {
        KL_TRY_ASSIGN(pin, config.pin.resolve(config.tokenLabel));
    }
    auto pool = SessionPool::open(h->m_module, slot, pin, config.maxSessions);
    pin.fill('\0');
    if (!pool.ok())
        return std::move(pool).error();
    h->m_pool = std::move(pool).value();
    // Logged in: the token is whole, keep a copy. Best effort: a copy that cannot be refreshed
    // now still restores the token, and is refreshed at the next start.
    if (!config.softhsmConfig.isEmpty()) [[maybe_unused]]
        const auto kept = softhsm::keepTokenObjects(config.softhsmConfig);
    return h;
}

Pkcs11Hsm::~Pkcs11Hsm() = default;

KeyUri Pkcs11Hsm::uriFor(const QString& label, const QString& type) const {
    KeyUri u;
    u.token = m_token;
    u.object = label;
    u.type = type;
    return u;
}

Result<void> Pkcs11Hsm::checkToken(const KeyUri& key) const {
    if (!key.token.isEmpty() && key.token != m_token)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("key '%1' is configured on token '%2' but the station uses "
                                    "token '%3': fix the key URI or [hsm] token")
                         .arg(key.object, key.token, m_token));
    return success();
}

Result<CK_OBJECT_HANDLE> Pkcs11Hsm::find(SessionLease& s, const KeyUri& key, CK_OBJECT_CLASS cls) {
    KL_TRY(checkToken(key));
    KL_TRY_ASSIGN(const auto found, findOne(s, {cls, key.object, key.id}));
    if (!found) {
        const char* what = cls == CKO_PRIVATE_KEY   ? "private key"
                           : cls == CKO_SECRET_KEY  ? "secret key"
                           : cls == CKO_CERTIFICATE ? "certificate"
                                                    : "public key";
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("%1 '%2' is not on HSM token '%3': if the token was "
                                    "removed or replaced, put the token back and run again; a "
                                    "new development station needs 'keyline hsm init-dev', a "
                                    "production one the key ceremony (docs/key-inventory.md)")
                         .arg(QLatin1String(what), key.object, m_token));
    }
    return *found;
}

Result<std::vector<KeyInfo>> Pkcs11Hsm::listKeys() {
    KL_TRY_ASSIGN(SessionLease s, m_pool->acquire());
    std::vector<KeyInfo> out;
    for (CK_OBJECT_CLASS cls :
         {CK_OBJECT_CLASS(CKO_PRIVATE_KEY), CK_OBJECT_CLASS(CKO_SECRET_KEY)}) {
        KL_TRY_ASSIGN(const auto handles, findObjects(s, {cls, {}, {}}));
        for (CK_OBJECT_HANDLE h : handles) {
            KeyInfo k;
            k.keyClass =
                cls == CKO_PRIVATE_KEY ? QStringLiteral("private") : QStringLiteral("secret");
            KL_TRY_ASSIGN(const QByteArray label, getAttribute(s, h, CKA_LABEL));
            k.label = QString::fromUtf8(label);
            k.id = getAttribute(s, h, CKA_ID).valueOr({});
            KL_TRY_ASSIGN(const CK_ULONG type, getUlong(s, h, CKA_KEY_TYPE));
            if (type == CKK_EC) {
                const QByteArray params = getAttribute(s, h, CKA_EC_PARAMS).valueOr({});
                k.type = params == p256Params() ? QStringLiteral("EC P-256") : QStringLiteral("EC");
            } else if (type == CKK_AES) {
                const CK_ULONG len = secretKeyLength(s, h).valueOr(0);
                k.type = len ? QStringLiteral("AES-%1").arg(len * 8) : QStringLiteral("AES");
            } else if (type == CKK_RSA) {
                // The ceremony's transport key; a private key object need not carry
                // CKA_MODULUS_BITS, its modulus gives the size.
                const QByteArray n = getAttribute(s, h, CKA_MODULUS).valueOr({});
                k.type = QStringLiteral("RSA-%1").arg(n.size() * 8);
            } else {
                k.type = QStringLiteral("key type 0x%1").arg(qulonglong(type), 0, 16);
            }
            k.sensitive = getBool(s, h, CKA_SENSITIVE).valueOr(false);
            k.extractable = getBool(s, h, CKA_EXTRACTABLE).valueOr(true);
            k.alwaysSensitive = getBool(s, h, CKA_ALWAYS_SENSITIVE).valueOr(false);
            k.neverExtractable = getBool(s, h, CKA_NEVER_EXTRACTABLE).valueOr(false);
            if (!k.id.isEmpty()) {
                KL_TRY_ASSIGN(const auto certs, findObjects(s, {CKO_CERTIFICATE, {}, k.id}));
                k.hasCertificate = !certs.empty();
            }
            const KeySpec* spec = findKeySpec(k.label);
            k.purpose = spec ? spec->purpose : QStringLiteral("(not in the inventory)");
            k.uri = uriFor(k.label, k.keyClass).toString();
            out.push_back(std::move(k));
        }
    }
    std::sort(out.begin(), out.end(),
              [](const KeyInfo& a, const KeyInfo& b) { return a.label < b.label; });
    return out;
}

Result<QByteArray> Pkcs11Hsm::publicKey(const KeyUri& key) {
    KL_TRY_ASSIGN(SessionLease s, m_pool->acquire());
    KL_TRY(checkToken(key));
    KL_TRY_ASSIGN(const auto pub, findOne(s, {CKO_PUBLIC_KEY, key.object, key.id}));
    if (pub) {
        KL_TRY_ASSIGN(const QByteArray point, ecPublicPoint(s, *pub));
        return p256SpkiFromPoint(point);
    }
    // A key imported in a ceremony may have only its certificate beside it.
    return Error(ErrorCode::EnvironmentNotReady,
                 QStringLiteral("public key '%1' is not on token '%2': run 'keyline hsm init-dev' "
                                "(development) or import it (docs/key-inventory.md)")
                     .arg(key.object, m_token));
}

Result<std::shared_ptr<Signer>> Pkcs11Hsm::signer(const KeyUri& key) {
    CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
    {
        KL_TRY_ASSIGN(SessionLease s, m_pool->acquire());
        KL_TRY_ASSIGN(priv, find(s, key, CKO_PRIVATE_KEY));
        KL_TRY_ASSIGN(const CK_ULONG type, getUlong(s, priv, CKA_KEY_TYPE));
        KL_TRY_ASSIGN(const bool canSign, getBool(s, priv, CKA_SIGN));
        if (type != CKK_EC || !canSign)
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("key '%1' is not an EC signing key").arg(key.object));
    }
    KL_TRY_ASSIGN(const QByteArray spki, publicKey(key));
    // Object handles of token objects stay valid for every session of this application.
    return std::shared_ptr<Signer>(std::make_shared<PoolSigner>(*m_pool, priv, spki, key.object));
}

Result<std::shared_ptr<Signer>> Pkcs11Hsm::certificateBoundSigner(const KeyUri& key) {
    QByteArray id = key.id;
    if (id.isEmpty()) {
        KL_TRY_ASSIGN(SessionLease s, m_pool->acquire());
        KL_TRY_ASSIGN(const CK_OBJECT_HANDLE cert, find(s, key, CKO_CERTIFICATE));
        KL_TRY_ASSIGN(id, getAttribute(s, cert, CKA_ID));
    }
    return m_helper->certificateSigner(m_token, id);
}

Result<QByteArray> Pkcs11Hsm::certificate(const KeyUri& key) {
    KL_TRY_ASSIGN(SessionLease s, m_pool->acquire());
    KL_TRY_ASSIGN(const CK_OBJECT_HANDLE cert, find(s, key, CKO_CERTIFICATE));
    return getAttribute(s, cert, CKA_VALUE);
}

Result<QByteArray> Pkcs11Hsm::keyCheckValue(const KeyUri& key) {
    KL_TRY_ASSIGN(SessionLease s, m_pool->acquire());
    KL_TRY_ASSIGN(const CK_OBJECT_HANDLE h, find(s, key, CKO_SECRET_KEY));
    return hsm::keyCheckValue(s, h);
}

Result<Pkcs11Hsm::FoundImageKey> Pkcs11Hsm::imageKey(SessionLease& s, const KeyUri& key) {
    const QString name = key.toString();
    {
        std::lock_guard lock(m_imageKeysMutex);
        if (auto known = m_imageKeys.find(name); known != m_imageKeys.end())
            return known->second;
    }
    FoundImageKey found;
    KL_TRY_ASSIGN(found.handle, find(s, key, CKO_SECRET_KEY));
    // An imported image key may have no CKA_CHECK_VALUE (SoftHSM2 2.6); the HSM computes it.
    KL_TRY_ASSIGN(found.kcv, hsm::keyCheckValue(s, found.handle)
                                 .context(QStringLiteral("the image key's check value, needed "
                                                         "to confirm the burn")));
    std::lock_guard lock(m_imageKeysMutex);
    m_imageKeys[name] = found;
    return found;
}

void Pkcs11Hsm::forgetImageKey(const KeyUri& key) {
    std::lock_guard lock(m_imageKeysMutex);
    m_imageKeys.erase(key.toString());
}

Result<ImageKeyBurn> Pkcs11Hsm::wrapImageKeyForDevice(const KeyUri& imageKey,
                                                      const QByteArray& devicePublicKey) {
    KL_TRY_ASSIGN(SessionLease s, m_pool->acquire());
    for (int attempt = 1;; ++attempt) {
        KL_TRY_ASSIGN(const FoundImageKey key, this->imageKey(s, imageKey));
        auto burn = wrapImageKey(s, key.handle, key.kcv, devicePublicKey);
        const bool staleHandle = !burn && (burn.error().detail() == int(CKR_KEY_HANDLE_INVALID) ||
                                           burn.error().detail() == int(CKR_OBJECT_HANDLE_INVALID));
        // A handle kept from an earlier device is stale when the key object was replaced
        // (a new token, a re-imported key): find it again, once.
        if (!staleHandle || attempt == 2)
            return burn;
        forgetImageKey(imageKey);
    }
}

Result<CK_OBJECT_HANDLE> Pkcs11Hsm::findGcmKey(SessionLease& s, const KeyUri& key) {
    KL_TRY_ASSIGN(const CK_OBJECT_HANDLE h, find(s, key, CKO_SECRET_KEY));
    KL_TRY_ASSIGN(const CK_ULONG type, getUlong(s, h, CKA_KEY_TYPE));
    const CK_ULONG len = secretKeyLength(s, h).valueOr(0);
    if (type != CKK_AES || len != 32)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("key '%1' is not an AES-256 key: AES-256-GCM needs one")
                         .arg(key.object));
    // Image keys made before AES-GCM existed (older init-dev tokens) cannot encrypt: say so
    // instead of passing on CKR_KEY_FUNCTION_NOT_PERMITTED.
    if (!getBool(s, h, CKA_ENCRYPT).valueOr(false) || !getBool(s, h, CKA_DECRYPT).valueOr(false))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("key '%1' does not allow encryption and decryption "
                                    "(CKA_ENCRYPT/CKA_DECRYPT): import it again with the image-key "
                                    "ceremony (docs/key-inventory.md), or for development make a "
                                    "new token with 'keyline hsm init-dev'")
                         .arg(key.object));
    return h;
}

Result<std::unique_ptr<GcmEncryption>> Pkcs11Hsm::beginGcmEncrypt(const KeyUri& key,
                                                                  const QByteArray& aad) {
    KL_TRY_ASSIGN(SessionLease s, m_pool->acquire());
    KL_TRY_ASSIGN(const CK_OBJECT_HANDLE h, findGcmKey(s, key));
    KL_TRY_ASSIGN(const QByteArray iv, randomGcmIv(s));
    return startGcmEncryption(std::move(s), h, iv, aad);
}

Result<std::unique_ptr<GcmDecryption>> Pkcs11Hsm::beginGcmDecrypt(const KeyUri& key,
                                                                  const QByteArray& iv,
                                                                  const QByteArray& aad,
                                                                  const QByteArray& tag) {
    KL_TRY_ASSIGN(SessionLease s, m_pool->acquire());
    KL_TRY_ASSIGN(const CK_OBJECT_HANDLE h, findGcmKey(s, key));
    return startGcmDecryption(std::move(s), h, iv, aad, tag);
}

} // namespace keyline::hsm
