using System.Collections.Concurrent;

namespace Job.Tests.Foundation;

/// <summary>Counts reminder ticks per grain key and reminder; the test reads it directly.</summary>
public static class ReminderTicks
{
    private static readonly ConcurrentDictionary<string, int> Ticks = new(StringComparer.Ordinal);

    public static int Get(string key) => Ticks.GetValueOrDefault(key);

    internal static void Record(string key) => Ticks.AddOrUpdate(key, 1, (_, n) => n + 1);
}

public interface IReminderTestGrain : IGrainWithStringKey
{
    Task RegisterAsync(string reminderName, TimeSpan period);

    Task UnregisterAsync(string reminderName);

    Task<bool> HasReminderAsync(string reminderName);
}

[GrainType("test-reminder")]
public sealed class ReminderTestGrain : Grain, IReminderTestGrain, IRemindable
{
    public Task RegisterAsync(string reminderName, TimeSpan period) =>
        this.RegisterOrUpdateReminder(reminderName, period, period);

    public async Task UnregisterAsync(string reminderName)
    {
        var reminder = await this.GetReminder(reminderName) ?? throw new InvalidOperationException($"No reminder '{reminderName}'.");
        await this.UnregisterReminder(reminder);
    }

    public async Task<bool> HasReminderAsync(string reminderName) => await this.GetReminder(reminderName) is not null;

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        ReminderTicks.Record($"{this.GetPrimaryKeyString()}/{reminderName}");
        return Task.CompletedTask;
    }
}

[GenerateSerializer]
public sealed class StateTestValue
{
    [Id(0)]
    public string? Text { get; set; }

    [Id(1)]
    public int Number { get; set; }
}

[GenerateSerializer]
public sealed class StateTestSnapshot
{
    [Id(0)]
    public Guid ActivationId { get; set; }

    [Id(1)]
    public bool RecordExists { get; set; }

    [Id(2)]
    public string? Text { get; set; }

    [Id(3)]
    public int Number { get; set; }

    [Id(4)]
    public string? ETag { get; set; }
}

public interface IStateTestGrain : IGrainWithStringKey
{
    Task<StateTestSnapshot> ReadAsync();

    Task WriteAsync(string text, int number);

    Task ClearAsync();

    Task DeactivateAsync();
}

[GrainType("test-state")]
public sealed class StateTestGrain([PersistentState("state")] IPersistentState<StateTestValue> state) : Grain, IStateTestGrain
{
    private readonly Guid _activationId = Guid.NewGuid();

    public Task<StateTestSnapshot> ReadAsync() => Task.FromResult(new StateTestSnapshot
    {
        ActivationId = _activationId,
        RecordExists = state.RecordExists,
        Text = state.State.Text,
        Number = state.State.Number,
        ETag = state.Etag,
    });

    public Task WriteAsync(string text, int number)
    {
        state.State.Text = text;
        state.State.Number = number;
        return state.WriteStateAsync();
    }

    public Task ClearAsync() => state.ClearStateAsync();

    public Task DeactivateAsync()
    {
        this.DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
