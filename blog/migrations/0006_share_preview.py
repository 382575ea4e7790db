import uuid

from django.db import migrations, models


def give_each_post_its_own_key(apps, schema_editor):
    # AddField fills existing rows with a single value of the default; each post gets a
    # random key of its own, as a new post does.
    Post = apps.get_model("blog", "Post")
    posts = list(Post.objects.only("pk"))
    for post in posts:
        post.share_key = uuid.uuid4()
    Post.objects.bulk_update(posts, ["share_key"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0005_redirect"),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="share_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
        migrations.RunPython(give_each_post_its_own_key, migrations.RunPython.noop),
    ]
