//! Retention for the test broker, as a real broker has it.
//!
//! nisshi lists every batch a partition holds on every fetch, so each fetch
//! costs more the longer a run goes on: at 10 000 commands/s its CPU, not the
//! service, sets the latency (the echo ceiling itself fell seconds behind).
//! Kafka finds a fetch offset in a segment index and its cost does not grow
//! with the log. The trimmer deletes (DeleteRecords) what every consumer of a
//! topic has committed, twice a second, so the broker holds about a second of
//! traffic and a fetch costs the same at the end of a run as at its start.
//! Both sides of a ratio run with it: the ceiling and the service see the same
//! broker.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const EVERY: Duration = Duration::from_millis(500);

/// Trims each `(topic, partitions, group)`: records below the group's
/// committed offsets go. Runs until the process ends.
pub fn spawn(bootstrap: &str, topics: Vec<(String, i32, String)>) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    // A consumer of the group that never joins it: it only reads the group's
    // committed offsets (OffsetFetch).
    let readers = topics
        .into_iter()
        .map(|(topic, partitions, group)| {
            let reader: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", bootstrap)
                .set("group.id", &group)
                .set("enable.auto.commit", "false")
                .create()?;
            let mut all = TopicPartitionList::new();
            for p in 0..partitions {
                all.add_partition(&topic, p);
            }
            Ok((reader, all))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // rdkafka's own thread completes the deletion; this one only waits for it.
    let runtime = tokio::runtime::Handle::current();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(EVERY);
            let mut cut = TopicPartitionList::new();
            for (reader, all) in &readers {
                let Ok(committed) = reader.committed_offsets(all.clone(), EVERY) else {
                    continue;
                };
                for e in committed.elements() {
                    if let Offset::Offset(o) = e.offset()
                        && o > 0
                    {
                        let _ =
                            cut.add_partition_offset(e.topic(), e.partition(), Offset::Offset(o));
                    }
                }
            }
            if cut.count() > 0 {
                let _ = runtime.block_on(admin.delete_records(&cut, &AdminOptions::new()));
            }
        }
    });
    Ok(())
}
