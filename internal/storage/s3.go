package storage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config names an S3-compatible bucket.
type S3Config struct {
	// Endpoint is host:port, without a scheme.
	Endpoint string `json:"endpoint"`
	Bucket   string `json:"bucket"`
	// AccessKey and SecretKey sign the requests.
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
	Region    string `json:"region,omitempty"`
	// Insecure speaks plain HTTP, for a server on the same machine or
	// network.
	Insecure bool `json:"insecure,omitempty"`
}

// S3 keeps blobs as objects in a bucket, which it creates when missing.
func S3(ctx context.Context, cfg S3Config) (*Store, error) {
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: !cfg.Insecure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: s3 %s: %w", cfg.Endpoint, err)
	}
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("storage: s3 %s: bucket %s: %w", cfg.Endpoint, cfg.Bucket, err)
	}
	if !exists {
		if err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
			return nil, fmt.Errorf("storage: s3 %s: make bucket %s: %w", cfg.Endpoint, cfg.Bucket, err)
		}
	}
	return &Store{b: &bucket{client: client, name: cfg.Bucket, endpoint: cfg.Endpoint}}, nil
}

type bucket struct {
	client   *minio.Client
	name     string
	endpoint string
}

func (b *bucket) String() string { return fmt.Sprintf("S3 bucket %s at %s", b.name, b.endpoint) }

func (b *bucket) put(ctx context.Context, key string, data []byte) error {
	_, err := b.client.PutObject(ctx, b.name, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	return err
}

func (b *bucket) get(ctx context.Context, key string, limit int) ([]byte, error) {
	obj, err := b.client.GetObject(ctx, b.name, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, notFound(err)
	}
	defer obj.Close()
	data, err := io.ReadAll(io.LimitReader(obj, int64(limit)+1))
	if err != nil {
		return nil, notFound(err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return data, nil
}

// notFound turns S3's "no such key" into ErrNotFound.
func notFound(err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return ErrNotFound
	}
	return err
}

func (b *bucket) list(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for obj := range b.client.ListObjects(ctx, b.name, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, obj.Err
		}
		keys = append(keys, obj.Key)
	}
	slices.Sort(keys)
	return keys, nil
}

func (b *bucket) delete(ctx context.Context, key string) error {
	return b.client.RemoveObject(ctx, b.name, key, minio.RemoveObjectOptions{})
}
