namespace Job;
internal static class Placeholder { }
