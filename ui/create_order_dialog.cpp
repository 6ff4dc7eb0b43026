#include "ui/create_order_dialog.h"

#include "ui/station_style.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>

namespace keyline::ui {

CreateOrderDialog::CreateOrderDialog(QWidget* parent)
    : QDialog(parent)
    , m_id(new QLineEdit(this))
    , m_customer(new QLineEdit(this))
    , m_dev(new QRadioButton(tr("development"), this))
    , m_prod(new QRadioButton(tr("PRODUCTION"), this))
    , m_prodWarning(new QLabel(this))
    , m_quantity(new QSpinBox(this))
    , m_create(new QPushButton(tr("Create order"), this))
    , m_error(new QLabel(this)) {
    setObjectName(QStringLiteral("createOrderDialog"));
    setWindowTitle(tr("New order"));
    setMinimumWidth(900);
    m_id->setObjectName(QStringLiteral("orderIdEdit"));
    m_id->setPlaceholderText(tr("automatic"));
    m_customer->setObjectName(QStringLiteral("customerEdit"));
    m_dev->setObjectName(QStringLiteral("devRadio"));
    m_prod->setObjectName(QStringLiteral("prodRadio"));
    m_dev->setChecked(true);
    m_dev->setIcon(glyphIcon(Glyph::Development, 32));
    m_prod->setIcon(glyphIcon(Glyph::Production, 32));
    m_prodWarning->setText(tr("PRODUCTION: customer keys; the keystore and package must be "
                              "production ones."));
    setStyleRole(m_prodWarning, QStringLiteral("badge-prod"));
    m_prodWarning->setWordWrap(true);
    m_quantity->setObjectName(QStringLiteral("quantitySpin"));
    m_quantity->setRange(1, 99999);
    // Arrows too small for a glove; the number is typed.
    m_quantity->setButtonSymbols(QAbstractSpinBox::NoButtons);
    m_quantity->setValue(10);
    m_create->setObjectName(QStringLiteral("createButton"));
    setStyleRole(m_create, QStringLiteral("primary"));
    m_error->setObjectName(QStringLiteral("createError"));
    m_error->setWordWrap(true);
    setStyleRole(m_error, QStringLiteral("error"));

    auto* environment = new QHBoxLayout;
    environment->setSpacing(32);
    environment->addWidget(m_dev);
    environment->addWidget(m_prod);
    environment->addStretch(1);
    QWidget* packageRow = nullptr;
    QWidget* keystoreRow = nullptr;
    m_package =
        fileRow(QStringLiteral("packageEdit"), tr("Packages (*.klpk);;All files (*)"), &packageRow);
    m_keystore = fileRow(QStringLiteral("keystoreEdit"), tr("Keystores (*.ks);;All files (*)"),
                         &keystoreRow);

    auto* form = new QFormLayout;
    form->setVerticalSpacing(14);
    form->setLabelAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    form->addRow(tr("Customer"), m_customer);
    form->addRow(tr("Environment"), environment);
    form->addRow(QString(), m_prodWarning);
    form->addRow(tr("Quantity"), m_quantity);
    form->addRow(tr("Package"), packageRow);
    form->addRow(tr("Keystore"), keystoreRow);
    form->addRow(tr("Order ID"), m_id);

    auto* cancel = new QPushButton(tr("Cancel"), this);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(cancel);
    buttons->addStretch(1);
    buttons->addWidget(m_create);
    auto* layout = new QVBoxLayout(this);
    layout->setSpacing(16);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addLayout(buttons);

    connect(m_prod, &QRadioButton::toggled, this, &CreateOrderDialog::updateEnvironment);
    connect(cancel, &QPushButton::clicked, this, &QDialog::reject);
    connect(m_create, &QPushButton::clicked, this, &CreateOrderDialog::submit);
    updateEnvironment();
}

QLineEdit* CreateOrderDialog::fileRow(const QString& name, const QString& filter, QWidget** row) {
    *row = new QWidget(this);
    auto* edit = new QLineEdit(*row);
    edit->setObjectName(name);
    auto* browse = new QPushButton(tr("Choose…"), *row);
    (*row)->setMinimumHeight(style::kTouch + 16); // the button's border and padding too
    auto* layout = new QHBoxLayout(*row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    connect(browse, &QPushButton::clicked, this, [this, edit, filter] {
        const QString file =
            QFileDialog::getOpenFileName(this, tr("Choose a file"), edit->text(), filter);
        if (!file.isEmpty())
            edit->setText(file);
    });
    return edit;
}

NewOrderForm CreateOrderDialog::form() const {
    NewOrderForm f;
    f.id = m_id->text().trimmed();
    f.customerId = m_customer->text().trimmed();
    f.production = m_prod->isChecked();
    f.quantity = m_quantity->value();
    f.packagePath = m_package->text().trimmed();
    f.keystorePath = m_keystore->text().trimmed();
    return f;
}

void CreateOrderDialog::setForm(const NewOrderForm& f) {
    m_id->setText(f.id);
    m_customer->setText(f.customerId);
    (f.production ? m_prod : m_dev)->setChecked(true);
    m_quantity->setValue(f.quantity);
    m_package->setText(f.packagePath);
    m_keystore->setText(f.keystorePath);
}

void CreateOrderDialog::setBusy(bool busy) {
    m_create->setEnabled(!busy);
    m_create->setText(busy ? tr("Checking…") : tr("Create order"));
}

void CreateOrderDialog::showError(const QString& text) {
    m_error->setText(text);
}

void CreateOrderDialog::updateEnvironment() {
    m_prodWarning->setVisible(m_prod->isChecked());
}

void CreateOrderDialog::submit() {
    const NewOrderForm f = form();
    if (f.customerId.isEmpty() || f.packagePath.isEmpty() || f.keystorePath.isEmpty()) {
        showError(tr("Fill in the customer, the package and the keystore."));
        return;
    }
    if (f.production && QMessageBox::question(this, tr("Production order"),
                                              tr("Create a PRODUCTION order of %1 devices for %2?")
                                                  .arg(f.quantity)
                                                  .arg(f.customerId)) != QMessageBox::Yes)
        return;
    m_error->clear();
    Q_EMIT createRequested(f);
}

} // namespace keyline::ui
