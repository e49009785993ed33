using Microsoft.Extensions.Options;

namespace Job.Worker;

/// <summary>
/// Metrics export, bound from the <c>Metrics</c> section: the runtime's meter (<c>Job</c>) is served for
/// Prometheus to scrape at <c>/metrics</c> unless turned off.
/// </summary>
public sealed class WorkerMetricsOptions
{
    /// <summary>The configuration section: <c>Metrics</c>.</summary>
    public const string SectionName = "Metrics";

    /// <summary>The scrape path.</summary>
    public const string PrometheusPath = "/metrics";

    /// <summary>Serve the metrics at <see cref="PrometheusPath"/> in Prometheus' text format. Default true.</summary>
    public bool Prometheus { get; set; } = true;

    internal static readonly StrictConfigurationSection<WorkerMetricsOptions> Section = new(SectionName, new Dictionary<string, Action<WorkerMetricsOptions, string, string>>
    {
        [nameof(Prometheus)] = (o, k, v) => o.Prometheus = StrictConfigurationSection<WorkerMetricsOptions>.Bool(k, v),
    });
}

/// <summary>
/// OTLP export of the runtime's metrics and traces, bound from the <c>Otlp</c> section: off until an
/// endpoint is set (an OpenTelemetry collector, for example <c>http://otel-collector:4317</c>).
/// </summary>
public sealed class WorkerOtlpOptions
{
    /// <summary>The configuration section: <c>Otlp</c>.</summary>
    public const string SectionName = "Otlp";

    /// <summary>The collector's address, <c>http(s)://host:port</c>, for metrics and traces alike. Over
    /// <c>http/protobuf</c> each signal goes to its path under it (<c>/v1/metrics</c>, <c>/v1/traces</c>), as
    /// with <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>. Unset (the default) exports nothing.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary><c>grpc</c> (the default, port 4317 by convention) or <c>http/protobuf</c> (4318).</summary>
    public string Protocol { get; set; } = "grpc";

    internal static readonly StrictConfigurationSection<WorkerOtlpOptions> Section = new(SectionName, new Dictionary<string, Action<WorkerOtlpOptions, string, string>>
    {
        [nameof(Endpoint)] = (o, k, v) => o.Endpoint = Uri.TryCreate(v, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new JobsConfigurationException($"{k} must be an absolute http:// or https:// address, such as http://otel-collector:4317."),
        [nameof(Protocol)] = (o, _, v) => o.Protocol = v,
    });
}

/// <summary>The rules for <see cref="WorkerOtlpOptions"/>, run when the host starts.</summary>
public sealed class WorkerOtlpOptionsValidator : IValidateOptions<WorkerOtlpOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, WorkerOtlpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Protocol is "grpc" or "http/protobuf"
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Otlp:Protocol must be grpc or http/protobuf.");
    }
}
