//! The `kv` table: small durable settings (the mention and subscription
//! cursors).

use super::{Result, Store};

impl Store {
    pub async fn kv_get(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM kv WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn kv_set(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn kv_delete(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM kv WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_value_is_replaced_not_duplicated() {
        let (_dir, store) = super::super::testing::store().await;
        assert_eq!(store.kv_get("cursor").await.unwrap(), None);
        store.kv_set("cursor", "1").await.unwrap();
        store.kv_set("cursor", "2").await.unwrap();
        assert_eq!(store.kv_get("cursor").await.unwrap().as_deref(), Some("2"));
        store.kv_delete("cursor").await.unwrap();
        assert_eq!(store.kv_get("cursor").await.unwrap(), None);
    }
}
