namespace Job.Bench.Infrastructure;

/// <summary>Nearest-rank percentiles of a sample (ms).</summary>
public readonly record struct Percentiles(int Count, double Min, double P50, double P95, double P99, double Max, double Mean)
{
    public static Percentiles Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return default;
        }

        double At(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Percentiles(sorted.Length, sorted[0], At(0.50), At(0.95), At(0.99), sorted[^1], sorted.Average());
    }
}
