namespace FastProxy.Catalog;

/// <summary>Thrown when a catalog update is rejected. The update was applied not at all: the last good state keeps serving.</summary>
public sealed class CatalogValidationException : Exception
{
    /// <summary>Creates the exception for the given errors.</summary>
    /// <param name="errors">Every reason the update was rejected; at least one.</param>
    public CatalogValidationException(IReadOnlyList<ValidationError> errors)
        : base(FormatMessage(errors))
    {
        Errors = errors;
    }

    /// <summary>Creates the exception with a message only; prefer the constructor that takes errors.</summary>
    public CatalogValidationException()
        : this([])
    {
    }

    /// <summary>Creates the exception with a message only; prefer the constructor that takes errors.</summary>
    /// <param name="message">The message.</param>
    public CatalogValidationException(string message)
        : base(message)
    {
        Errors = [];
    }

    /// <summary>Creates the exception with a message and an inner exception; prefer the constructor that takes errors.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CatalogValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    /// <summary>Every reason the update was rejected.</summary>
    public IReadOnlyList<ValidationError> Errors { get; }

    private static string FormatMessage(IReadOnlyList<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.Count switch
        {
            0 => "The catalog update was rejected.",
            1 => $"The catalog update was rejected: {errors[0]}",
            _ => $"The catalog update was rejected with {errors.Count} errors:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", errors)}",
        };
    }
}
