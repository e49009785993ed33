using Job.Execution;
using Job.Scheduling;
using Job.Storage;

namespace Job.Tests.Scheduling;

public sealed class NotificationAndLedgerTests
{
    [Fact]
    public void Payloads_carry_a_type_and_a_time_in_unix_microseconds()
    {
        var upTo = new DateTimeOffset(2026, 11, 28, 21, 30, 15, 123, TimeSpan.Zero).AddTicks(4560); // 123.456 ms
        var payload = JobNotifications.DuePayload("inbox:acme/v2", upTo);

        Assert.Equal("inbox:acme/v2 1795901415123456", payload); // what extract(epoch …) * 1000000 writes
        Assert.Equal(("inbox:acme/v2", (DateTimeOffset?)upTo), JobNotifications.Parse(payload));
        Assert.Equal(("inbox:acme/v2", (DateTimeOffset?)null), JobNotifications.Parse("inbox:acme/v2"));
        Assert.Equal(((string?)null, (DateTimeOffset?)null), JobNotifications.Parse("")); // a queue moved on: any type
        Assert.Equal(((string?)null, (DateTimeOffset?)null), JobNotifications.Parse(null));
        Assert.Equal(("t", (DateTimeOffset?)null), JobNotifications.Parse("t not-a-time"));
        Assert.Equal(("t", (DateTimeOffset?)null), JobNotifications.Parse("t 999999999999999999")); // beyond DateTimeOffset
    }

    [Fact]
    public void Later_work_reaches_only_the_scheduler_of_its_type_with_its_due_time_and_a_replaced_one_detaches_cleanly()
    {
        var notifications = new JobNotifications(new JobWaiters());
        var woken = new List<(string, DateTimeOffset?)>();
        using var a = notifications.AttachScheduler("a", at => woken.Add(("a", at)));
        var oldB = notifications.AttachScheduler("b", at => woken.Add(("old b", at)));
        using var newB = notifications.AttachScheduler("b", at => woken.Add(("new b", at))); // reactivated on this silo

        notifications.OnScheduled("b 1000000");
        oldB.Dispose(); // the old activation's late cleanup must not detach the new one
        notifications.OnScheduled("b");
        notifications.OnScheduled("unknown 5");
        notifications.OnListening(); // after a reconnect, every scheduler looks again, time unknown

        Assert.Equal([("new b", DateTimeOffset.UnixEpoch.AddSeconds(1)), ("new b", null)], woken.Take(2));
        Assert.Equal([("a", null), ("new b", null)], woken.Skip(2).Order());
    }

    [Fact]
    public void A_stale_run_and_the_new_claim_of_the_same_job_are_released_separately()
    {
        var ledger = new ClaimLedger(new JobsOptions { MaxJobsPerProcess = 2, MinJobsPerProcess = 2 });
        var id = JobId.New();
        var stale = Claim(id, token: 1);
        var fresh = Claim(id, token: 2);
        ledger.Add([stale]);
        ledger.Add([fresh]);

        Assert.True(ledger.TryTake(stale)); // its job grain takes it to run it …
        Assert.False(ledger.TryTake(stale)); // … so a late dispatch failure cannot also hand it back
        ledger.Release(stale);
        Assert.Equal([(id, 2L)], ledger.Snapshot()); // the new claim keeps its heartbeat
        Assert.True(ledger.RoomFreed.WaitTask.IsCompleted);

        ledger.Release(stale); // released twice: counted once
        Assert.Equal(1, ledger.NextBatchSize());
        ledger.Release(fresh);
        Assert.False(ledger.TryTake(fresh)); // released: nothing left to take
        Assert.True(ledger.IsEmpty);
        Assert.Equal(2, ledger.NextBatchSize());
    }

    private static ClaimedJob Claim(JobId id, long token) => new()
    {
        Id = id,
        JobType = "t",
        Attempt = 1,
        ClaimToken = token,
        ConfigJson = "{}",
    };
}
