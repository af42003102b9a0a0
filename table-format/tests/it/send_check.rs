//! A compile-time test: the maintenance operations' futures are `Send`, so servers can run
//! them in spawned tasks and request handlers (this file fails to build otherwise).
#[allow(dead_code)]
fn assert_send<T: Send>(_: T) {}

#[allow(dead_code)]
fn maintenance_futures_are_send(
    table: &table_format::table::Table,
    catalog: &'static (dyn table_format::catalog::Catalog + Sync),
) {
    assert_send(table.expire_snapshots().commit(catalog));
    assert_send(table.remove_orphan_files().execute());
    assert_send(table.rewrite_data_files().execute(catalog));
    assert_send(table.rewrite_manifests().execute(catalog));
}
