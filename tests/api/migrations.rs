//! Every migration is reversible: all the way down and up again on an empty database.

use crate::helpers::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

#[tokio::test]
async fn every_migration_reverts_and_reapplies() {
    let db = TestDb::new().await; // cloned from the migrated template
    let url = db.url();
    use diesel::migration::MigrationSource;
    let count = MigrationSource::<diesel::pg::Pg>::migrations(&keydesk::db::MIGRATIONS)
        .unwrap()
        .len();
    assert!(count >= 4);
    let reverted = keydesk::db::revert_all_migrations(&url).await.unwrap();
    assert_eq!(reverted, count);
    let mut c = AsyncPgConnection::establish(&url).await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let left: N = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .get_result(&mut c)
    .await
    .unwrap();
    assert_eq!(left.n, 0, "down migrations leave no tables behind");
    let applied = keydesk::db::run_migrations(&url).await.unwrap();
    assert_eq!(applied.len(), count);
}
