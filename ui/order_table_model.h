#pragma once

// The open orders as a table: order, customer, environment (a PRODUCTION badge with its own
// glyph and words, apart from development), quantity, done, failed, remaining.

#include "station/order_report.h"

#include <QAbstractTableModel>

namespace keyline::ui {

class OrderTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Id, Customer, Environment, Quantity, Done, Failed, Remaining, ColumnCount };

    explicit OrderTableModel(QObject* parent = nullptr);

    void setOrders(std::vector<station::OrderSummary> orders);
    const station::OrderSummary* orderAt(int row) const;
    int rowOf(const QString& orderId) const; // -1 if not listed

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    std::vector<station::OrderSummary> m_orders;
};

} // namespace keyline::ui
