import asyncio

import google.generativeai as genai


async def main() -> None:
    model = genai.GenerativeModel("gemini-1.5-pro", generation_config={"max_output_tokens": 100})
    response = await model.generate_content_async("Name three rivers.")
    print(response.text)
    async for chunk in await model.generate_content_async("Name three mountains.", stream=True):
        print(chunk.text)


asyncio.run(main())
