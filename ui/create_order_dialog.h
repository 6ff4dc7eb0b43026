#pragma once

// New order (supervisor, engineer): customer, environment, quantity, package and keystore.
// The checks are those of `keyline order create`, run on the worker thread; a production order
// is marked as such on the form and asks for a second confirmation.

#include "ui/station_admin.h"

#include <QDialog>

class QLabel;
class QLineEdit;
class QPushButton;
class QRadioButton;
class QSpinBox;

namespace keyline::ui {

class CreateOrderDialog : public QDialog {
    Q_OBJECT
public:
    explicit CreateOrderDialog(QWidget* parent = nullptr);

    NewOrderForm form() const;
    void setForm(const NewOrderForm& form); // for tests and for pre-filling
    void setBusy(bool busy);
    void showError(const QString& text);

Q_SIGNALS:
    void createRequested(const keyline::ui::NewOrderForm& form);

private:
    QLineEdit* fileRow(const QString& name, const QString& filter, QWidget** row);
    void submit();
    void updateEnvironment();

    QLineEdit* m_id;
    QLineEdit* m_customer;
    QRadioButton* m_dev;
    QRadioButton* m_prod;
    QLabel* m_prodWarning;
    QSpinBox* m_quantity;
    QLineEdit* m_package;
    QLineEdit* m_keystore;
    QPushButton* m_create;
    QLabel* m_error;
};

} // namespace keyline::ui
