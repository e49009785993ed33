namespace Job.Storage;

/// <summary>The statements the client side runs (spawn, read, cancel), embedded from <c>Storage/Sql</c>.</summary>
internal static class ClientSql
{
    public static readonly SqlStatement Spawn = Load("spawn");
    public static readonly SqlStatement FindJob = Load("find_job");
    public static readonly SqlStatement JobEvents = Load("job_events");
    public static readonly SqlStatement ExistingIds = Load("existing_ids");
    public static readonly SqlStatement MarkAwaited = Load("mark_awaited");
    public static readonly SqlStatement Cancel = Load("cancel");

    private static SqlStatement Load(string name) => SqlStatement.Load(typeof(ClientSql).Assembly, "Job.Client.Sql.", name);
}
