using System.Buffers;
using System.Collections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// <see cref="IFeatureCollection"/> over the connection itself. Well-known features live in fields (initially
/// the connection itself, or null for the socket feature of non-socket connections); any other feature goes
/// to a small list that is only allocated when someone sets one.
/// </summary>
internal abstract partial class TransportConnection : IFeatureCollection,
    IConnectionIdFeature,
    IConnectionTransportFeature,
    IConnectionItemsFeature,
    IConnectionLifetimeFeature,
    IConnectionEndPointFeature,
    IMemoryPoolFeature
{
    private object? _currentIdFeature;
    private object? _currentTransportFeature;
    private object? _currentItemsFeature;
    private object? _currentLifetimeFeature;
    private object? _currentEndPointFeature;
    private object? _currentMemoryPoolFeature;
    private object? _currentSocketFeature;
    private List<KeyValuePair<Type, object>>? _extraFeatures;
    private int _featureRevision;

    protected TransportConnection()
    {
        _currentIdFeature = this;
        _currentTransportFeature = this;
        _currentItemsFeature = this;
        _currentLifetimeFeature = this;
        _currentEndPointFeature = this;
        _currentMemoryPoolFeature = this;
    }

    /// <summary>Called by the socket connection's constructor: the raw socket stays reachable for fast paths.</summary>
    protected void SetSocketFeature(IConnectionSocketFeature feature) => _currentSocketFeature = feature;

    bool IFeatureCollection.IsReadOnly => false;

    int IFeatureCollection.Revision => _featureRevision;

    object? IFeatureCollection.this[Type key]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(key);
            if (key == typeof(IConnectionIdFeature))
            {
                return _currentIdFeature;
            }

            if (key == typeof(IConnectionTransportFeature))
            {
                return _currentTransportFeature;
            }

            if (key == typeof(IConnectionItemsFeature))
            {
                return _currentItemsFeature;
            }

            if (key == typeof(IConnectionLifetimeFeature))
            {
                return _currentLifetimeFeature;
            }

            if (key == typeof(IConnectionEndPointFeature))
            {
                return _currentEndPointFeature;
            }

            if (key == typeof(IMemoryPoolFeature))
            {
                return _currentMemoryPoolFeature;
            }

            if (key == typeof(IConnectionSocketFeature))
            {
                return _currentSocketFeature;
            }

            return GetExtraFeature(key);
        }

        set
        {
            ArgumentNullException.ThrowIfNull(key);
            _featureRevision++;
            if (key == typeof(IConnectionIdFeature))
            {
                _currentIdFeature = value;
            }
            else if (key == typeof(IConnectionTransportFeature))
            {
                _currentTransportFeature = value;
            }
            else if (key == typeof(IConnectionItemsFeature))
            {
                _currentItemsFeature = value;
            }
            else if (key == typeof(IConnectionLifetimeFeature))
            {
                _currentLifetimeFeature = value;
            }
            else if (key == typeof(IConnectionEndPointFeature))
            {
                _currentEndPointFeature = value;
            }
            else if (key == typeof(IMemoryPoolFeature))
            {
                _currentMemoryPoolFeature = value;
            }
            else if (key == typeof(IConnectionSocketFeature))
            {
                _currentSocketFeature = value;
            }
            else
            {
                SetExtraFeature(key, value);
            }
        }
    }

    TFeature? IFeatureCollection.Get<TFeature>() where TFeature : default =>
        (TFeature?)((IFeatureCollection)this)[typeof(TFeature)];

    void IFeatureCollection.Set<TFeature>(TFeature? instance) where TFeature : default =>
        ((IFeatureCollection)this)[typeof(TFeature)] = instance;

    IEnumerator<KeyValuePair<Type, object>> IEnumerable<KeyValuePair<Type, object>>.GetEnumerator() => EnumerateFeatures().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => EnumerateFeatures().GetEnumerator();

    // Explicit so that the public surface of the context stays the ConnectionContext one.
    MemoryPool<byte> IMemoryPoolFeature.MemoryPool => MemoryPool;

    private IEnumerable<KeyValuePair<Type, object>> EnumerateFeatures()
    {
        if (_currentIdFeature is not null)
        {
            yield return new(typeof(IConnectionIdFeature), _currentIdFeature);
        }

        if (_currentTransportFeature is not null)
        {
            yield return new(typeof(IConnectionTransportFeature), _currentTransportFeature);
        }

        if (_currentItemsFeature is not null)
        {
            yield return new(typeof(IConnectionItemsFeature), _currentItemsFeature);
        }

        if (_currentLifetimeFeature is not null)
        {
            yield return new(typeof(IConnectionLifetimeFeature), _currentLifetimeFeature);
        }

        if (_currentEndPointFeature is not null)
        {
            yield return new(typeof(IConnectionEndPointFeature), _currentEndPointFeature);
        }

        if (_currentMemoryPoolFeature is not null)
        {
            yield return new(typeof(IMemoryPoolFeature), _currentMemoryPoolFeature);
        }

        if (_currentSocketFeature is not null)
        {
            yield return new(typeof(IConnectionSocketFeature), _currentSocketFeature);
        }

        if (_extraFeatures is not null)
        {
            foreach (var feature in _extraFeatures)
            {
                yield return feature;
            }
        }
    }

    private object? GetExtraFeature(Type key)
    {
        if (_extraFeatures is null)
        {
            return null;
        }

        for (var i = 0; i < _extraFeatures.Count; i++)
        {
            if (_extraFeatures[i].Key == key)
            {
                return _extraFeatures[i].Value;
            }
        }

        return null;
    }

    private void SetExtraFeature(Type key, object? value)
    {
        _extraFeatures ??= [];
        for (var i = 0; i < _extraFeatures.Count; i++)
        {
            if (_extraFeatures[i].Key == key)
            {
                if (value is null)
                {
                    _extraFeatures.RemoveAt(i);
                }
                else
                {
                    _extraFeatures[i] = new(key, value);
                }

                return;
            }
        }

        if (value is not null)
        {
            _extraFeatures.Add(new(key, value));
        }
    }
}
